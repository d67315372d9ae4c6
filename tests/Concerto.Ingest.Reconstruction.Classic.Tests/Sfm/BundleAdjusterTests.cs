using Xunit.Abstractions;
using Concerto.Ingest.Reconstruction.Classic.Sfm;

namespace Concerto.Ingest.Reconstruction.Classic.Tests.Sfm;

public sealed class BundleAdjusterTests(ITestOutputHelper output)
{
    private const double Focal = 300;
    private const double Cx = 159.5;
    private const double Cy = 119.5;

    /// <summary>Five cameras along x looking down +z at points 4-8 units away; observations exact.</summary>
    private static (BundleProblem Problem, double[][] TruePoints) Synthetic(int seed, double pointNoise, double rotationNoise)
    {
        var rng = new Random(seed);
        var truePoints = Enumerable.Range(0, 200).Select(_ => new[] { rng.NextDouble() * 6 - 3, rng.NextDouble() * 4 - 2, 4 + rng.NextDouble() * 4 }).ToArray();
        var cameras = 5;
        var rotations = new double[cameras][];
        var translations = new double[cameras][];
        var observations = new List<BundleObservation>();
        for (var c = 0; c < cameras; c++)
        {
            rotations[c] = [0, 0.02 * c, 0];
            translations[c] = [-0.5 * c, 0, 0];
            for (var p = 0; p < truePoints.Length; p++)
            {
                var x = RotateY(truePoints[p], 0.02 * c);
                x[0] += translations[c][0];
                observations.Add(new BundleObservation(c, p, Focal * x[0] / x[2] + Cx, Focal * x[1] / x[2] + Cy));
            }
        }

        var noisyPoints = truePoints.Select(p => p.Select(v => v + pointNoise * (rng.NextDouble() * 2 - 1)).ToArray()).ToArray();
        for (var c = 1; c < cameras; c++) rotations[c] = rotations[c].Select(v => v + rotationNoise * (rng.NextDouble() * 2 - 1)).ToArray();
        return (new BundleProblem
        {
            Rotations = rotations, Translations = translations, Points = noisyPoints, Observations = observations,
            Focal = Focal, Cx = Cx, Cy = Cy, FixedCamera = 0, ScaleCamera = 1, ScaleDistance = 0.5,
        }, truePoints);
    }

    private static double[] RotateY(double[] p, double angle)
    {
        var (c, s) = (Math.Cos(angle), Math.Sin(angle));
        return [c * p[0] + s * p[2], p[1], -s * p[0] + c * p[2]];
    }

    [Fact]
    public void Adjust_ReducesReprojectionError_OnPerturbedProblem()
    {
        var (problem, _) = Synthetic(7, pointNoise: 0.05, rotationNoise: 0.005);
        var report = BundleAdjuster.Adjust(problem, 30, huberPixels: 1.5, optimizeFocal: false, CancellationToken.None);
        Assert.True(report.InitialRms > 2, $"the perturbation should be visible ({report.InitialRms} px)");
        // Exact observations: Levenberg-Marquardt reaches the exact solution in a few steps.
        Assert.True(report.FinalRms < 1e-4, $"{report.InitialRms} -> {report.FinalRms} px in {report.Iterations} steps");
        // Camera 0 is the gauge and stays exactly where it was.
        Assert.Equal([0.0, 0.0, 0.0], problem.Rotations[0]);
        Assert.Equal([0.0, 0.0, 0.0], problem.Translations[0]);
    }

    [Fact]
    public void Adjust_RecoversFocal_WhenStartedOff()
    {
        var (problem, _) = Synthetic(8, pointNoise: 0, rotationNoise: 0);
        problem.Focal = Focal * 1.05;
        var report = BundleAdjuster.Adjust(problem, 50, huberPixels: 1.5, optimizeFocal: true, CancellationToken.None);
        Assert.True(Math.Abs(problem.Focal / Focal - 1) < 1e-3, $"focal {problem.Focal} vs {Focal}, {report.InitialRms} -> {report.FinalRms} px");
    }

    [Fact]
    public void Adjust_IgnoresGrossOutliers_ThroughTheHuberLoss()
    {
        // One observation in twenty moved 40 px: least squares spreads them over every point and camera, the Huber loss
        // caps each one's pull.
        double MedianPointError(double huberPixels)
        {
            var (problem, truePoints) = Synthetic(10, pointNoise: 0.03, rotationNoise: 0.003);
            var rng = new Random(11);
            var observations = problem.Observations.Select(o => rng.Next(20) == 0 ? o with { U = o.U + 40 * (rng.Next(2) * 2 - 1) } : o).ToList();
            var noisy = new BundleProblem
            {
                Rotations = problem.Rotations, Translations = problem.Translations, Points = problem.Points, Observations = observations,
                Focal = problem.Focal, Cx = problem.Cx, Cy = problem.Cy, FixedCamera = 0, ScaleCamera = 1, ScaleDistance = 0.5,
            };
            BundleAdjuster.Adjust(noisy, 100, huberPixels, optimizeFocal: false, CancellationToken.None);
            var errors = noisy.Points.Zip(truePoints, (p, t) => Math.Sqrt(p.Zip(t, (a, b) => (a - b) * (a - b)).Sum())).Order().ToList();
            return errors[errors.Count / 2];
        }

        var robust = MedianPointError(1.5);
        var leastSquares = MedianPointError(1e6);
        output.WriteLine($"median point error: Huber {robust:F4}, least squares {leastSquares:F4}");
        Assert.True(robust < 0.5 * leastSquares, $"Huber {robust}, least squares {leastSquares}");
    }

    [Fact]
    public void Adjust_GivesBitIdenticalResults_RunToRun()
    {
        // The Schur sums run on threads; their parts are added in a fixed order, so two runs agree to the last bit.
        var (first, _) = Synthetic(12, pointNoise: 0.05, rotationNoise: 0.005);
        var (second, _) = Synthetic(12, pointNoise: 0.05, rotationNoise: 0.005);
        BundleAdjuster.Adjust(first, 15, 1.5, optimizeFocal: true, CancellationToken.None);
        BundleAdjuster.Adjust(second, 15, 1.5, optimizeFocal: true, CancellationToken.None);
        Assert.Equal(first.Focal, second.Focal);
        Assert.Equal(first.Points.SelectMany(p => p), second.Points.SelectMany(p => p));
        Assert.Equal(first.Rotations.SelectMany(r => r), second.Rotations.SelectMany(r => r));
    }

    [Fact]
    public void HuberLoss_GrowsLinearly_ForOutlier()
    {
        Assert.Equal(0.125, BundleAdjuster.HuberLoss(0.5, 1.0), 9);       // quadratic inside: 0.5 r^2
        Assert.Equal(9.5, BundleAdjuster.HuberLoss(-10, 1.0), 9);         // linear outside: d (|r| - d/2)
        Assert.Equal(99.5, BundleAdjuster.HuberLoss(100, 1.0), 9);
        // An outlier 10x larger costs about 10x more, not 100x as under least squares.
        Assert.InRange(BundleAdjuster.HuberLoss(100, 1.0) / BundleAdjuster.HuberLoss(10, 1.0), 10, 11);
    }

    [Fact]
    public void Rotate_MatchesRodrigues_ForQuarterTurn()
    {
        var y = BundleAdjuster.Rotate([0, 0, Math.PI / 2], [1, 0, 0]);
        Assert.Equal(0, y[0], 9);
        Assert.Equal(1, y[1], 9);
        Assert.Equal(0, y[2], 9);
    }

    [Fact]
    public void DenseSolve_SolvesAPivotingSystem_AndRefusesASingularOne()
    {
        // A zero on the diagonal needs a row swap.
        double[] a = [0, 2, 1, 1, 1, 1, 2, 1, 3];
        double[] x = [1, 2, 3];
        var b = new double[3];
        for (var i = 0; i < 3; i++) b[i] = a[3 * i] * x[0] + a[3 * i + 1] * x[1] + a[3 * i + 2] * x[2];
        Assert.True(BundleAdjuster.DenseSolve((double[])a.Clone(), b, 3));
        for (var i = 0; i < 3; i++) Assert.Equal(x[i], b[i], 9);
        Assert.False(BundleAdjuster.DenseSolve([1, 2, 2, 4], [1, 2], 2));
    }
}
