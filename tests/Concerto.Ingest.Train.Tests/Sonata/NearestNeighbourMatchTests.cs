using Concerto.Ingest.Train.Sonata;
using static TorchSharp.torch;

namespace Concerto.Ingest.Train.Tests.Sonata;

public sealed class NearestNeighbourMatchTests
{
    /// <summary>Two samples of random points; in sample 1 the references cover only x &lt; 0.6 of a 1.5-wide box, so
    /// far queries lose their pairs. Checked against a brute-force search in double precision, with one chunk and with
    /// chunks of a few queries.</summary>
    [Theory]
    [InlineData(NearestNeighbourMatch.DefaultChunkElements)]
    [InlineData(1000L)]
    public void Match_EqualsBruteForceWithinEachSample(long chunkElements)
    {
        using var scope = NewDisposeScope();
        var random = new Random(21);
        long[] queryOffsets = [300, 550];
        long[] referenceOffsets = [280, 600];
        var query = RandomPoints(random, 550, _ => 1.5);
        var reference = RandomPoints(random, 600, i => i < 280 ? 1.5 : 0.6);

        var (queryIndex, referenceIndex) = NearestNeighbourMatch.Match(
            tensor(query).reshape(-1, 3), queryOffsets, tensor(reference).reshape(-1, 3), referenceOffsets, 0.32, chunkElements);

        var expected = new List<(long Query, long Reference, double Distance)>();
        for (var i = 0; i < 550; i++)
        {
            var (from, to) = i < 300 ? (0, 280) : (280, 600);
            var best = (Index: -1, Distance: double.PositiveInfinity);
            for (var j = from; j < to; j++)
            {
                var d = Distance(query, i, reference, j);
                if (d < best.Distance) best = (j, d);
            }

            if (best.Distance < 0.32) expected.Add((i, best.Index, best.Distance));
        }

        Assert.InRange(expected.Count, 300, 500);   // some pairs dropped, most kept: the threshold is exercised
        Assert.Equal(ScalarType.Int64, queryIndex.dtype);
        Assert.Equal(expected.Select(e => e.Query).ToArray(), queryIndex.data<long>().ToArray());
        var matched = referenceIndex.data<long>().ToArray();
        for (var p = 0; p < expected.Count; p++)
        {
            // Equal, or an exact tie in distance.
            if (matched[p] == expected[p].Reference) continue;
            Assert.Equal(expected[p].Distance, Distance(query, (int)expected[p].Query, reference, (int)matched[p]), 6);
        }
    }

    [Fact]
    public void Match_DropsPairsAtTheMaximumDistance_AndNeverCrossesSamples()
    {
        using var scope = NewDisposeScope();
        // Sample 0: two queries; references at 0.25 and 0.5 along x. Sample 1: a reference right on top of sample 0's
        // second query, which must not be used by it.
        var query = tensor(new float[] { 0, 0, 0, 10, 0, 0, 5, 5, 5 }).reshape(-1, 3);
        var reference = tensor(new float[] { 0.25f, 0, 0, 10.5f, 0, 0, 10, 0, 0 }).reshape(-1, 3);

        var (q, r) = NearestNeighbourMatch.Match(query, [2, 3], reference, [2, 3], maxDistance: 0.5);
        Assert.Equal([0L], q.data<long>().ToArray());   // query 1 is 0.5 away from its sample's nearest: dropped
        Assert.Equal([0L], r.data<long>().ToArray());    // query 2 is 7 away from sample 1's only reference

        var (q2, r2) = NearestNeighbourMatch.Match(query, [2, 3], reference, [2, 3], maxDistance: 0.51);
        Assert.Equal([0L, 1L], q2.data<long>().ToArray());
        Assert.Equal([0L, 1L], r2.data<long>().ToArray());

        // A sample without references has no pairs; an empty batch gives empty long tensors.
        var (q3, _) = NearestNeighbourMatch.Match(query, [2, 3], reference, [0, 3], maxDistance: 100);
        Assert.Equal([2L], q3.data<long>().ToArray());
        var (q4, r4) = NearestNeighbourMatch.Match(empty(0, 3), [0], empty(0, 3), [0]);
        Assert.Equal(0, q4.numel());
        Assert.Equal(ScalarType.Int64, r4.dtype);
        Assert.Throws<ArgumentException>(() => NearestNeighbourMatch.Match(query, [2, 2], reference, [2, 3]));
        Assert.Throws<ArgumentException>(() => NearestNeighbourMatch.Match(query, [3], reference, [2, 3]));
    }

    private static float[] RandomPoints(Random random, int count, Func<int, double> xRange)
    {
        var points = new float[3 * count];
        for (var i = 0; i < count; i++)
        {
            points[3 * i] = (float)(random.NextDouble() * xRange(i));
            points[3 * i + 1] = (float)(random.NextDouble() * 1.5);
            points[3 * i + 2] = (float)(random.NextDouble() * 1.5);
        }

        return points;
    }

    private static double Distance(float[] a, int i, float[] b, int j)
    {
        double dx = a[3 * i] - b[3 * j], dy = a[3 * i + 1] - b[3 * j + 1], dz = a[3 * i + 2] - b[3 * j + 2];
        return Math.Sqrt(dx * dx + dy * dy + dz * dz);
    }
}
