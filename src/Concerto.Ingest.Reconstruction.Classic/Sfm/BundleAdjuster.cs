using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Concerto.Ingest.Reconstruction.Classic.Sfm;

/// <summary>An observation of point <see cref="Point"/> in camera <see cref="Camera"/> at pixel (U, V).</summary>
public readonly record struct BundleObservation(int Camera, int Point, double U, double V);

/// <summary>A bundle adjustment problem: world-to-camera poses as axis-angle rotation and translation
/// (x_cam = R(r) X + t), points, one shared focal length, principal point fixed.</summary>
public sealed class BundleProblem
{
    public required double[][] Rotations { get; init; }
    public required double[][] Translations { get; init; }
    public required double[][] Points { get; init; }
    public required IReadOnlyList<BundleObservation> Observations { get; init; }
    public required double Focal { get; set; }
    public required double Cx { get; init; }
    public required double Cy { get; init; }
    /// <summary>Camera held fixed (gauge).</summary>
    public int FixedCamera { get; init; }
    /// <summary>Camera whose distance to the fixed one is held (scale gauge); -1 for none.</summary>
    public int ScaleCamera { get; init; } = -1;
    public double ScaleDistance { get; init; } = 1;
}

public sealed record BundleReport(double InitialRms, double FinalRms, int Iterations);

/// <summary>Bundle adjustment by TorchSharp autograd: Huber loss on pixel reprojection errors, Adam with a decaying
/// step, camera <see cref="BundleProblem.FixedCamera"/> fixed and the scale held by a penalty on the distance of
/// <see cref="BundleProblem.ScaleCamera"/>.</summary>
public static class BundleAdjuster
{
    /// <summary>Huber loss of each residual component (quadratic below <paramref name="delta"/>, linear above),
    /// summed over the last dimension.</summary>
    public static Tensor HuberLoss(Tensor residual, double delta)
    {
        ArgumentNullException.ThrowIfNull(residual);
        using var scope = NewDisposeScope();
        var a = residual.abs();
        var loss = where(a < delta, 0.5 * a * a, delta * (a - 0.5 * delta)).sum(-1);
        return loss.MoveToOuterDisposeScope();
    }

    /// <summary>Rotates points X (K x 3) by axis-angle vectors r (K x 3) (Rodrigues).</summary>
    public static Tensor Rotate(Tensor r, Tensor x)
    {
        ArgumentNullException.ThrowIfNull(r);
        ArgumentNullException.ThrowIfNull(x);
        using var scope = NewDisposeScope();
        var theta = (r.square().sum(-1, keepdim: true) + 1e-18).sqrt();
        var k = r / theta;
        var cos = theta.cos();
        var sin = theta.sin();
        var kx = Cross(k, x);
        var kd = (k * x).sum(-1, keepdim: true);
        var rotated = x * cos + kx * sin + k * kd * (1 - cos);
        return rotated.MoveToOuterDisposeScope();
    }

    private static Tensor Cross(Tensor a, Tensor b)
    {
        var (a0, a1, a2) = (a[.., 0], a[.., 1], a[.., 2]);
        var (b0, b1, b2) = (b[.., 0], b[.., 1], b[.., 2]);
        return stack([a1 * b2 - a2 * b1, a2 * b0 - a0 * b2, a0 * b1 - a1 * b0], 1);
    }

    /// <summary>Refines the problem in place.</summary>
    public static BundleReport Adjust(BundleProblem problem, int iterations, double huberPixels, bool optimizeFocal, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(problem);
        if (problem.Observations.Count == 0) return new BundleReport(0, 0, 0);
        using var scope = NewDisposeScope();
        var cameras = problem.Rotations.Length;
        var cameraIndex = tensor(problem.Observations.Select(o => (long)o.Camera).ToArray());
        var pointIndex = tensor(problem.Observations.Select(o => (long)o.Point).ToArray());
        var uv = tensor(problem.Observations.SelectMany(o => new[] { o.U, o.V }).ToArray(), float64).reshape(-1, 2);
        var centre = tensor(new[] { problem.Cx, problem.Cy }, float64);
        var fixedMask = ones(cameras, 1, dtype: float64);
        fixedMask[problem.FixedCamera, 0] = 0;
        var rot0 = tensor(problem.Rotations.SelectMany(r => r).ToArray(), float64).reshape(cameras, 3);
        var tr0 = tensor(problem.Translations.SelectMany(t => t).ToArray(), float64).reshape(cameras, 3);

        var points0 = tensor(problem.Points.SelectMany(p => p).ToArray(), float64).reshape(-1, 3);
        // Translations and points are optimised as offsets in units of the scene scale, so one Adam step size fits
        // rotations (radians), positions and the log focal length alike.
        var sceneScale = Math.Max(1e-6, Math.Max(problem.ScaleDistance, tr0.abs().max().item<double>()));

        using var dRot = new Parameter(zeros(cameras, 3, dtype: float64));
        using var dTr = new Parameter(zeros(cameras, 3, dtype: float64));
        using var dPoints = new Parameter(zeros_like(points0));
        using var logFocal = new Parameter(zeros(1, dtype: float64), optimizeFocal);
        var parameters = new List<Parameter> { dRot, dTr, dPoints };
        if (optimizeFocal) parameters.Add(logFocal);

        Tensor Residuals()
        {
            var r = rot0 + dRot * fixedMask;
            var t = tr0 + sceneScale * dTr * fixedMask;
            var points = points0 + sceneScale * dPoints;
            var x = Rotate(r.index_select(0, cameraIndex), points.index_select(0, pointIndex)) + t.index_select(0, cameraIndex);
            var z = x[.., 2..3].clamp_min(1e-6);
            var f = problem.Focal * logFocal.exp();
            return f * x[.., 0..2] / z + centre - uv;
        }

        double Rms()
        {
            using var s = NewDisposeScope();
            using var _ = no_grad();
            return Residuals().square().sum(-1).mean().sqrt().item<double>();
        }

        var initial = Rms();
        var baseLr = 3e-4;
        using var optimizer = optim.Adam(parameters, lr: baseLr);
        var scaleWeight = 100.0;
        for (var step = 0; step < iterations; step++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            using var stepScope = NewDisposeScope();
            var decay = 0.5 * (1 + Math.Cos(Math.PI * step / Math.Max(1, iterations)));
            var lr = baseLr * (0.02 + 0.98 * decay);
            foreach (var group in optimizer.ParamGroups) group.LearningRate = lr;
            optimizer.zero_grad();
            var residual = Residuals();
            var loss = HuberLoss(residual, huberPixels).mean();
            if (problem.ScaleCamera >= 0)
            {
                var t = tr0[problem.ScaleCamera] + sceneScale * dTr[problem.ScaleCamera];
                var r = rot0[problem.ScaleCamera] + dRot[problem.ScaleCamera];
                // Centre of the scale camera: -R^T t = rotate t by -r.
                var centreS = Rotate(-r.unsqueeze(0), t.unsqueeze(0)).squeeze(0);
                var c0 = Rotate(-rot0[problem.FixedCamera].unsqueeze(0), tr0[problem.FixedCamera].unsqueeze(0)).squeeze(0);
                var d = (centreS - c0).norm() / problem.ScaleDistance - 1;
                loss = loss + scaleWeight * d * d;
            }

            loss.backward();
            optimizer.step();
        }

        var final = Rms();
        using (no_grad())
        {
            var r = (rot0 + dRot * fixedMask).cpu();
            var t = (tr0 + sceneScale * dTr * fixedMask).cpu();
            var p = (points0 + sceneScale * dPoints).cpu();
            var rd = r.data<double>().ToArray();
            var td = t.data<double>().ToArray();
            var pd = p.data<double>().ToArray();
            for (var c = 0; c < cameras; c++)
            {
                problem.Rotations[c] = [rd[3 * c], rd[3 * c + 1], rd[3 * c + 2]];
                problem.Translations[c] = [td[3 * c], td[3 * c + 1], td[3 * c + 2]];
            }

            for (var i = 0; i < problem.Points.Length; i++) problem.Points[i] = [pd[3 * i], pd[3 * i + 1], pd[3 * i + 2]];
            if (optimizeFocal) problem.Focal *= Math.Exp(logFocal.item<double>());
        }

        return new BundleReport(initial, final, iterations);
    }
}
