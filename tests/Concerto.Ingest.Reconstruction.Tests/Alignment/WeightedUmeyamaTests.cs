using Concerto.Ingest.Core.Geometry;
using Concerto.Ingest.Reconstruction.Alignment;
using static Concerto.Ingest.Reconstruction.Tests.Alignment.RandomGeometry;

namespace Concerto.Ingest.Reconstruction.Tests.Alignment;

public class WeightedUmeyamaTests
{
    private static void AssertClose(Sim3 expected, Sim3 actual, double tolerance)
    {
        Assert.True(Math.Abs(expected.Scale - actual.Scale) < tolerance, $"scale {actual.Scale} vs {expected.Scale}");
        Assert.True(MaxAbsDiff(expected.Rotation, actual.Rotation) < tolerance, "rotation");
        Assert.True((expected.Translation - actual.Translation).Length < tolerance, "translation");
    }

    [Fact]
    public void Estimate_RecoversRandomSim3_WhenPointsAreNoiseless()
    {
        var rng = new Random(1);
        for (var trial = 0; trial < 20; trial++)
        {
            var truth = Similarity(rng);
            var source = Enumerable.Range(0, 50).Select(_ => InCube(rng, 1)).ToArray();
            var target = source.Select(truth.Apply).ToArray();
            AssertClose(truth, WeightedUmeyama.Estimate(source, target), 1e-9);
        }
    }

    [Fact]
    public void Estimate_RecoversSim3_WhenSourceIsPlanar()
    {
        // Coplanar points leave the third singular vector's sign free: without the determinant fix this yields a reflection.
        var rng = new Random(2);
        for (var trial = 0; trial < 20; trial++)
        {
            var truth = Similarity(rng);
            var source = Enumerable.Range(0, 30).Select(_ => InCube(rng, 1) with { Z = 0.25 }).ToArray();
            var estimate = WeightedUmeyama.Estimate(source, source.Select(truth.Apply).ToArray());
            AssertClose(truth, estimate, 1e-9);
        }
    }

    [Fact]
    public void Estimate_ReturnsProperRotation_WhenTargetIsMirrored()
    {
        var rng = new Random(3);
        var mirror = new Mat3(1, 0, 0, 0, 1, 0, 0, 0, -1);
        var source = Enumerable.Range(0, 50).Select(_ => InCube(rng, 1)).ToArray();
        var target = source.Select(p => mirror * p + GaussianV3(rng, 0.01)).ToArray();

        // The data really are reflection-prone: the cross-covariance's best orthogonal fit is improper.
        var cov = source.Zip(target).Aggregate(new Mat3(0, 0, 0, 0, 0, 0, 0, 0, 0), (m, p) => m + Mat3.Outer(p.Second, p.First));
        var (u, _, v) = cov.Svd();
        Assert.True(u.Determinant() * v.Determinant() < 0);

        var r = WeightedUmeyama.Estimate(source, target).Rotation;
        Assert.Equal(1, r.Determinant(), 12);
        Assert.True(MaxAbsDiff(r.Transpose() * r, Mat3.Identity) < 1e-12);
    }

    [Fact]
    public void Estimate_IgnoresPoints_WhenTheirWeightIsZero()
    {
        var rng = new Random(4);
        var truth = Similarity(rng);
        var source = Enumerable.Range(0, 50).Select(_ => InCube(rng, 1)).ToArray();
        var target = source.Select(truth.Apply).ToArray();
        var weights = Enumerable.Range(0, 50).Select(_ => Uniform(rng, 0.5, 2)).ToArray();
        for (var i = 0; i < 50; i += 5)
        {
            target[i] += InCube(rng, 10);
            weights[i] = 0;
        }

        AssertClose(truth, WeightedUmeyama.Estimate(source, target, weights), 1e-9);
        // Sanity: the corruption matters when weighted.
        var unweighted = WeightedUmeyama.Estimate(source, target);
        Assert.True(Math.Abs(unweighted.Scale - truth.Scale) > 1e-3 || MaxAbsDiff(unweighted.Rotation, truth.Rotation) > 1e-3);
    }

    [Fact]
    public void Estimate_Throws_WhenFewerThanThreePoints()
    {
        V3[] two = [new(0, 0, 0), new(1, 0, 0)];
        var ex = Assert.Throws<ArgumentException>(() => WeightedUmeyama.Estimate(two, two));
        Assert.Contains("at least 3", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Estimate_Throws_WhenPointsAreCollinear()
    {
        var source = Enumerable.Range(0, 10).Select(i => new V3(1, 2, 3) * (0.1 * i) + new V3(5, 0, 0)).ToArray();
        var ex = Assert.Throws<ArgumentException>(() => WeightedUmeyama.Estimate(source, source));
        Assert.Contains("collinear", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Estimate_Throws_WhenTotalWeightIsZero()
    {
        var rng = new Random(5);
        var source = Enumerable.Range(0, 10).Select(_ => InCube(rng, 1)).ToArray();
        Assert.Throws<ArgumentException>(() => WeightedUmeyama.Estimate(source, source, new double[10]));
        var negative = Enumerable.Repeat(1.0, 10).ToArray();
        negative[3] = -1;
        Assert.Throws<ArgumentException>(() => WeightedUmeyama.Estimate(source, source, negative));
    }
}
