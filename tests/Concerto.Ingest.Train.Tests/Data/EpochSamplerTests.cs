using Concerto.Ingest.Train.Data;

namespace Concerto.Ingest.Train.Tests.Data;

public sealed class EpochSamplerTests
{
    private static readonly int[] Rows = Enumerable.Range(0, 23).Select(i => 3 * i + 1).ToArray(); // row indices, not 0..n-1

    [Fact]
    public void At_GivesAResumedRunTheSameBatches_AsAnUninterruptedOne()
    {
        var uninterrupted = new EpochSampler(Rows, batchSize: 4, seed: 42);
        var sequence = Enumerable.Range(0, 4 * uninterrupted.BatchesPerEpoch).Select(uninterrupted.At).ToList();

        foreach (var resumeAt in new[] { 0, 3, 5, 6, 11, 17, 23 })
        {
            var resumed = new EpochSampler(Rows, batchSize: 4, seed: 42); // a fresh process: no state but (seed, step)
            for (var step = resumeAt; step < sequence.Count; step++)
            {
                var batch = resumed.At(step);
                Assert.Equal(sequence[step].Rows, batch.Rows);
                Assert.Equal((sequence[step].Epoch, sequence[step].Index), (batch.Epoch, batch.Index));
            }
        }

        // Out-of-order calls (workers prefetching) see the same batches too.
        var shuffled = new EpochSampler(Rows, batchSize: 4, seed: 42);
        foreach (var step in new[] { 13, 2, 19, 0, 13, 7 }) Assert.Equal(sequence[step].Rows, shuffled.At(step).Rows);
    }

    [Fact]
    public void At_VisitsEveryRowOncePerEpoch_InADifferentOrderEachEpoch()
    {
        var sampler = new EpochSampler(Rows, batchSize: 5, seed: 7, dropLast: false);
        Assert.Equal(5, sampler.BatchesPerEpoch);
        var epochs = new List<int[]>();
        for (var epoch = 0; epoch < 3; epoch++)
        {
            var batches = Enumerable.Range(epoch * 5, 5).Select(sampler.At).ToList();
            Assert.All(batches, b => Assert.Equal(epoch, b.Epoch));
            Assert.Equal([5, 5, 5, 5, 3], batches.Select(b => b.Rows.Length));
            var visited = batches.SelectMany(b => b.Rows).ToArray();
            Assert.Equal(Rows, visited.Order());
            Assert.Equal(sampler.Order(epoch), visited);
            epochs.Add(visited);
        }

        Assert.NotEqual(epochs[0], epochs[1]);
        Assert.NotEqual(epochs[1], epochs[2]);
        Assert.NotEqual(Rows, epochs[0]);
        Assert.NotEqual(epochs[0], new EpochSampler(Rows, batchSize: 5, seed: 8, dropLast: false).Order(0));
    }

    [Fact]
    public void At_DropsTheShortLastBatch_WhenAsked()
    {
        var sampler = new EpochSampler(Rows, batchSize: 5, seed: 7, dropLast: true);
        Assert.Equal(4, sampler.BatchesPerEpoch);
        var rows = Enumerable.Range(0, 4).SelectMany(s => sampler.At(s).Rows).ToArray();
        Assert.Equal(20, rows.Distinct().Count());
        Assert.Equal(sampler.Order(0)[..20], rows);
        Assert.Equal(1, sampler.At(4).Epoch);
        Assert.Equal(sampler.Order(1)[..5], sampler.At(4).Rows);
    }

    [Fact]
    public void Order_IsPinned_ForAGivenSeedAndEpoch()
    {
        // Golden orders: a change here changes every run's batches (and breaks resuming old checkpoints).
        var sampler = new EpochSampler(Enumerable.Range(0, 10).ToArray(), batchSize: 2, seed: 1234);
        Assert.Equal(GoldenEpoch0, sampler.Order(0));
        Assert.Equal(GoldenEpoch1, sampler.Order(1));
    }

    [Fact]
    public void Constructor_Rejects_TooFewRowsForABatch()
    {
        var error = Assert.Throws<ArgumentException>(() => new EpochSampler([1, 2, 3], batchSize: 4, seed: 0));
        Assert.Contains("3 rows make no batch of 4", error.Message, StringComparison.Ordinal);
        Assert.Equal(1, new EpochSampler([1, 2, 3], batchSize: 4, seed: 0, dropLast: false).BatchesPerEpoch);
    }

    // From an independent Python SplitMix64 + Lemire + Fisher-Yates, state = seed << 32 | epoch.
    private static readonly int[] GoldenEpoch0 = [7, 5, 1, 3, 2, 4, 9, 8, 6, 0];
    private static readonly int[] GoldenEpoch1 = [8, 0, 5, 1, 6, 2, 9, 4, 3, 7];
}
