using Concerto.Ingest.Core.Geometry;
using Concerto.Ingest.Reconstruction.Alignment;
using static Concerto.Ingest.Reconstruction.Tests.Alignment.RandomGeometry;

namespace Concerto.Ingest.Reconstruction.Tests.Alignment;

public class RobustSim3Tests
{
    private sealed record Pairs(V3[] Source, double[] C1, V3[] Target, double[] C2);

    /// <summary>Source points about unit scale; the target is truth(source) with Gaussian noise, and every fifth pair is
    /// moved 1-5 units in a random direction.</summary>
    private static Pairs Make(Random rng, Sim3 truth, int n, double sigma, bool outliers)
    {
        var source = Enumerable.Range(0, n).Select(_ => InCube(rng, 1)).ToArray();
        var target = source.Select(p => truth.Apply(p) + GaussianV3(rng, sigma)).ToArray();
        if (outliers)
            for (var i = 0; i < n; i += 5) target[i] += UnitVector(rng) * Uniform(rng, 1, 5);
        var c1 = Enumerable.Range(0, n).Select(_ => Uniform(rng, 1, 10)).ToArray();
        var c2 = Enumerable.Range(0, n).Select(_ => Uniform(rng, 1, 10)).ToArray();
        return new Pairs(source, c1, target, c2);
    }

    private static (double RotationDeg, double ScaleRel, double Translation) Errors(Sim3 truth, Sim3 estimate) =>
        (AngleDegrees(truth.Rotation, estimate.Rotation), Math.Abs(estimate.Scale / truth.Scale - 1),
            (estimate.Translation - truth.Translation).Length);

    [Fact]
    public void Estimate_IsAccurateAndBeatsPlainUmeyama_WhenTwentyPercentAreOutliers()
    {
        var rng = new Random(21);
        for (var trial = 0; trial < 5; trial++)
        {
            var truth = new Sim3(Uniform(rng, 0.7, 1.5), Rotation(rng), InCube(rng, 1));
            var d = Make(rng, truth, 2000, 0.005, outliers: true);
            var plainWeights = d.C1.Zip(d.C2, (a, b) => Math.Sqrt(a * b)).ToArray();
            var plain = Errors(truth, WeightedUmeyama.Estimate(d.Source, d.Target, plainWeights));
            var result = RobustSim3.Estimate(d.Source, d.C1, d.Target, d.C2);
            var robust = Errors(truth, result.Transform);

            Assert.True(robust.RotationDeg < 0.5, $"rotation error {robust.RotationDeg} deg");
            Assert.True(robust.ScaleRel < 0.01, $"scale error {robust.ScaleRel}");
            Assert.True(robust.Translation < 0.02, $"translation error {robust.Translation}");
            // Plain (non-robust) weighted least squares is worse on every parameter.
            Assert.True(robust.RotationDeg < plain.RotationDeg && robust.ScaleRel < plain.ScaleRel
                && robust.Translation < plain.Translation, $"robust {robust} vs plain {plain}");
            Assert.Equal(2000, result.PairsKept);
            Assert.InRange(result.Iterations, 1, 5);
        }
    }

    [Fact]
    public void Estimate_DropsPairs_WhenEitherConfidenceIsBelowTenthOfMedian()
    {
        var rng = new Random(22);
        var truth = Similarity(rng);
        var d = Make(rng, truth, 100, 0, outliers: false);
        // Medians are about 5.5, so the threshold is about 0.55; corrupt the dropped pairs to prove they are unused.
        int[] lowSource = [0, 7, 14, 21, 28, 35, 42], lowTarget = [50, 57, 64, 71, 78], lowBoth = [90, 95, 99];
        foreach (var i in lowSource.Concat(lowBoth)) d.C1[i] = 0.3;
        foreach (var i in lowTarget.Concat(lowBoth)) d.C2[i] = 0.2;
        foreach (var i in lowSource.Concat(lowTarget).Concat(lowBoth)) d.Target[i] += new V3(50, -20, 30);

        var result = RobustSim3.Estimate(d.Source, d.C1, d.Target, d.C2);

        Assert.Equal(100 - 15, result.PairsKept);
        var t = result.Transform;
        Assert.True(MaxAbsDiff(truth.Rotation, t.Rotation) < 1e-9, "rotation");
        Assert.Equal(truth.Scale, t.Scale, 9);
        Assert.True((truth.Translation - t.Translation).Length < 1e-9, "translation");
        Assert.True(result.WeightedRmsResidual < 1e-9);
    }

    [Fact]
    public void Estimate_StopsAfterOneIteration_WhenDataAreNoiseless()
    {
        var rng = new Random(23);
        var d = Make(rng, Similarity(rng), 50, 0, outliers: false);
        var result = RobustSim3.Estimate(d.Source, d.C1, d.Target, d.C2);
        Assert.Equal(1, result.Iterations);
    }

    [Fact]
    public void Estimate_EqualsWeightedUmeyama_WhenNoIterationsAllowed()
    {
        var rng = new Random(24);
        var d = Make(rng, Similarity(rng), 100, 0.01, outliers: true);
        var result = RobustSim3.Estimate(d.Source, d.C1, d.Target, d.C2, new RobustSim3Settings(MaxIterations: 0));
        var plain = WeightedUmeyama.Estimate(d.Source, d.Target, d.C1.Zip(d.C2, (a, b) => Math.Sqrt(a * b)).ToArray());
        Assert.Equal(0, result.Iterations);
        Assert.Equal(plain.Scale, result.Transform.Scale, 12);
        Assert.True(MaxAbsDiff(plain.Rotation, result.Transform.Rotation) < 1e-12);
        Assert.True(result.WeightedRmsResidual > 0.1); // the outliers are still in
    }
}
