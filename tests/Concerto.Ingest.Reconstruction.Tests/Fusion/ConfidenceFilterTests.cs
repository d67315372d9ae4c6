using Concerto.Ingest.Core.Geometry;
using Concerto.Ingest.Reconstruction.Fusion;

namespace Concerto.Ingest.Reconstruction.Tests.Fusion;

public class ConfidenceFilterTests
{
    private static DepthFrame Frame(float[] depth, float[]? confidence) =>
        new(depth.Length, 1, depth, confidence, new byte[3 * depth.Length], new PinholeIntrinsics(depth.Length, 1, 1, 1, 0, 0),
            new RigidTransform([1, 0, 0, 0, 1, 0, 0, 0, 1], V3.Zero));

    [Fact]
    public void Apply_KeepsTopHalfExactly_WhenPercentileHasTies()
    {
        // Ten valid pixels (index 2 has no depth): confidences sorted 0,1,2,2,2 | 2,3,4,5,6. The cut value 2 sits at
        // indices 0, 3, 5, 8 and three of them must go: the lowest pixel indices (0, 3, 5).
        float[] depth = [1, 1, 0, 1, 1, 1, 1, 1, 1, 1, 1];
        float[] conf = [2, 5, 9, 2, 0, 2, 3, 1, 2, 6, 4];
        var keep = new bool[depth.Length];

        var result = ConfidenceFilter.Apply(Frame(depth, conf), new ConfidenceFilterSettings(), keep);

        Assert.Equal([false, true, false, false, false, false, true, false, true, true, true], keep);
        Assert.Equal(10, result.Valid);
        Assert.Equal(5, result.Kept);
    }

    [Theory]
    [InlineData(1, 200_000, 30)]   // few distinct values: long runs of ties at the cut
    [InlineData(2, 150_000, 50)]
    [InlineData(3, 77_777, 90)]
    public void Apply_DropsExactlyThePercentile_AndNothingAboveTheCut_OnLargeFrames(int seed, int n, double percentile)
    {
        var random = new Random(seed);
        var depth = new float[n];
        var conf = new float[n];
        for (var i = 0; i < n; i++)
        {
            depth[i] = random.Next(20) == 0 ? 0 : 1;
            conf[i] = seed == 1 ? random.Next(7) : (float)(1 + 10 * random.NextDouble());
        }

        var keep = new bool[n];
        var result = ConfidenceFilter.Apply(Frame(depth, conf), new ConfidenceFilterSettings(Percentile: percentile), keep);

        var valid = Enumerable.Range(0, n).Where(i => depth[i] > 0).ToList();
        var drop = (int)Math.Floor(valid.Count * percentile / 100);
        Assert.Equal((valid.Count, valid.Count - drop), (result.Valid, result.Kept));
        Assert.Equal(valid.Count - drop, keep.Count(k => k));
        var lowestKept = valid.Where(i => keep[i]).Min(i => conf[i]);
        var highestDropped = valid.Where(i => !keep[i]).Max(i => conf[i]);
        Assert.True(highestDropped <= lowestKept);
        var sorted = valid.Select(i => conf[i]).Order().ToArray();
        Assert.Equal(sorted[drop - 1], highestDropped);
        Assert.InRange(result.P50!.Value, sorted[(int)(0.45 * sorted.Length)], sorted[(int)(0.55 * sorted.Length)]);
    }

    [Fact]
    public void Apply_KeepsAtOrAboveThreshold_WhenAbsolute()
    {
        float[] depth = [1, 1, 1, 0, 1];
        float[] conf = [1.49f, 1.5f, 3, 9, float.NaN];
        var keep = new bool[depth.Length];

        var result = ConfidenceFilter.Apply(Frame(depth, conf), new ConfidenceFilterSettings(ConfidenceMode.Absolute, Threshold: 1.5), keep);

        Assert.Equal([false, true, true, false, false], keep);
        Assert.Equal((4 - 1, 2), (result.Valid, result.Kept));
    }

    [Fact]
    public void Apply_ReportsNumpyPercentiles_WhenConfidencePresent()
    {
        var depth = Enumerable.Repeat(1f, 11).ToArray();
        var conf = Enumerable.Range(0, 11).Select(i => (float)(10 - i)).ToArray();

        var result = ConfidenceFilter.Apply(Frame(depth, conf), new ConfidenceFilterSettings(Percentile: 30), new bool[11]);

        Assert.Equal((1f, 5f, 9f), (result.P10!.Value, result.P50!.Value, result.P90!.Value));
        Assert.Equal(11 - 3, result.Kept);
    }

    [Fact]
    public void Apply_KeepsEveryValidPixel_WhenFrameHasNoConfidence()
    {
        var keep = new bool[3];
        var result = ConfidenceFilter.Apply(Frame([1, 0, 2], null), new ConfidenceFilterSettings(), keep);

        Assert.Equal([true, false, true], keep);
        Assert.Null(result.P50);
    }
}
