using Concerto.Ingest.Reconstruction.Classic.Sfm;
using TorchSharp;
using static TorchSharp.torch;

namespace Concerto.Ingest.Reconstruction.Classic.Tests.Sfm;

public sealed class BundleAdjusterTests
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
    public void HuberLoss_GrowsLinearly_ForOutlier()
    {
        using var scope = NewDisposeScope();
        var residual = tensor(new double[] { 0.5, 0, 10, 0, 100, 0 }, float64).reshape(3, 2);
        var loss = BundleAdjuster.HuberLoss(residual, 1.0).data<double>().ToArray();
        Assert.Equal(0.125, loss[0], 9);         // quadratic inside: 0.5 r^2
        Assert.Equal(9.5, loss[1], 9);           // linear outside: d (r - d/2)
        Assert.Equal(99.5, loss[2], 9);
        // An outlier 10x larger costs about 10x more, not 100x as under least squares.
        Assert.InRange(loss[2] / loss[1], 10, 11);
    }

    [Fact]
    public void Adjust_LeavesNoLiveTensors()
    {
        var (problem, _) = Synthetic(9, pointNoise: 0.02, rotationNoise: 0.002);
        BundleAdjuster.Adjust(problem, 5, 1.5, optimizeFocal: true, CancellationToken.None);
        var live = DisposeScopeManager.Statistics.ThreadTotalLiveCount;
        BundleAdjuster.Adjust(problem, 20, 1.5, optimizeFocal: true, CancellationToken.None);
        Assert.Equal(live, DisposeScopeManager.Statistics.ThreadTotalLiveCount);
    }

    [Fact]
    public void Rotate_MatchesRodrigues_ForQuarterTurn()
    {
        using var scope = NewDisposeScope();
        var r = tensor(new double[] { 0, 0, Math.PI / 2 }, float64).reshape(1, 3);
        var x = tensor(new double[] { 1, 0, 0 }, float64).reshape(1, 3);
        var y = BundleAdjuster.Rotate(r, x).data<double>().ToArray();
        Assert.Equal(0, y[0], 9);
        Assert.Equal(1, y[1], 9);
        Assert.Equal(0, y[2], 9);
    }
}
