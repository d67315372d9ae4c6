using TorchSharp;
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

/// <summary>Bundle adjustment by Levenberg-Marquardt, vectorised with TorchSharp (float64): analytic Jacobians of the
/// pixel reprojection errors (rotations updated on the left by a small axis-angle step, translations, points, the log
/// focal length), a Huber loss by iteratively reweighted least squares, and the Schur complement that eliminates the
/// points (3x3 blocks) so only the cameras' normal equations are solved densely. Camera
/// <see cref="BundleProblem.FixedCamera"/> is fixed; after each step the scene is rescaled about it so
/// <see cref="BundleProblem.ScaleCamera"/> keeps its distance (the scale gauge).</summary>
public static class BundleAdjuster
{
    /// <summary>Points eliminated per chunk of the Schur complement (bounds memory: chunk x cameras x 18 doubles).</summary>
    private const int SchurChunk = 2048;

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
        return RotationMatrices(r).bmm(x.unsqueeze(-1)).squeeze(-1).MoveToOuterDisposeScope();
    }

    /// <summary>Rotation matrices (K x 3 x 3) of axis-angle vectors (K x 3).</summary>
    private static Tensor RotationMatrices(Tensor r)
    {
        using var scope = NewDisposeScope();
        var theta = (r.square().sum(-1, keepdim: true) + 1e-30).sqrt();
        var k = r / theta;
        var cos = theta.cos().unsqueeze(-1);
        var sin = theta.sin().unsqueeze(-1);
        var eye = torch.eye(3, dtype: r.dtype).expand(r.shape[0], 3, 3);
        var outer = k.unsqueeze(-1) * k.unsqueeze(-2);
        var m = eye * cos + outer * (1 - cos) + Skew(k) * sin;
        return m.MoveToOuterDisposeScope();
    }

    /// <summary>[v]x, the cross-product matrices of vectors (K x 3).</summary>
    private static Tensor Skew(Tensor v)
    {
        var (x, y, z) = (v[.., 0], v[.., 1], v[.., 2]);
        var zero = zeros_like(x);
        return stack([zero, -z, y, z, zero, -x, -y, x, zero], -1).reshape(-1, 3, 3);
    }

    /// <summary>Axis-angle vectors of rotation matrices (via OpenCV's Rodrigues).</summary>
    private static double[] AxisAngle(double[] m)
    {
        OpenCvSharp.Cv2.Rodrigues(new[,] { { m[0], m[1], m[2] }, { m[3], m[4], m[5] }, { m[6], m[7], m[8] } }, out var v, out _);
        return v;
    }

    /// <summary>Refines the problem in place: at most <paramref name="iterations"/> Levenberg-Marquardt steps, stopping
    /// early once the cost no longer falls.</summary>
    public static BundleReport Adjust(BundleProblem problem, int iterations, double huberPixels, bool optimizeFocal, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(problem);
        if (problem.Observations.Count == 0) return new BundleReport(0, 0, 0);
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var state = new State(problem);
        try
        {
            return Refine(problem, state, iterations, huberPixels, optimizeFocal, cancellationToken);
        }
        finally
        {
            state.Free();
        }
    }

    private static BundleReport Refine(BundleProblem problem, State state, int iterations, double huberPixels, bool optimizeFocal,
        CancellationToken cancellationToken)
    {
        var cameras = problem.Rotations.Length;
        var dims = 6 * cameras + 1;                         // per camera: rotation step, translation; then log focal
        var cam = tensor(problem.Observations.Select(o => (long)o.Camera).ToArray());
        var pt = tensor(problem.Observations.Select(o => (long)o.Point).ToArray());
        var uv = tensor(problem.Observations.SelectMany(o => new[] { o.U, o.V }).ToArray(), float64).reshape(-1, 2);
        var centre = tensor(new[] { problem.Cx, problem.Cy }, float64);
        var points = problem.Points.Length;
        // Global parameter index of each observation's 7 camera-side columns, and a mask for the fixed ones.
        var columns = cat([cam.unsqueeze(1) * 6 + arange(6, dtype: int64).unsqueeze(0), full(cam.shape[0], 1, dims - 1, dtype: int64)], 1);
        var free = ones(cameras, 7, dtype: float64);
        free[problem.FixedCamera, TensorIndex.Slice(0, 6)] = 0;
        if (!optimizeFocal) free[.., 6] = 0;
        if (problem.ScaleCamera >= 0 && problem.ScaleCamera != problem.FixedCamera)
        {
            // The scale gauge: the largest translation component of the scale camera stays put during a step (a free
            // scale makes the normal equations singular); Rescale then restores its exact distance.
            var t = problem.Translations[problem.ScaleCamera];
            var axis = Enumerable.Range(0, 3).MaxBy(i => Math.Abs(t[i]));
            free[problem.ScaleCamera, 3 + axis] = 0;
        }

        var freeColumns = free.index_select(0, cam).unsqueeze(1);   // [N, 1, 7]
        // 1 for the parameters a step may change, 0 for the gauge (and a fixed focal length).
        var pinned = cat([free[.., ..6].reshape(-1), tensor(new[] { optimizeFocal ? 1.0 : 0.0 }, float64)]);

        Tensor Residual(State s)
        {
            var x = s.R.index_select(0, cam).bmm(s.X.index_select(0, pt).unsqueeze(-1)).squeeze(-1) + s.T.index_select(0, cam);
            var z = x[.., 2..3].clamp_min(1e-9);
            return problem.Focal * Math.Exp(s.LogFocal) * x[.., 0..2] / z + centre - uv;
        }

        double Cost(State s) => HuberLoss(Residual(s), huberPixels).sum().item<double>();
        double Rms(State s) => Residual(s).square().sum(-1).mean().sqrt().item<double>();

        var initial = Rms(state);
        var cost = Cost(state);
        var lambda = 1e-3;
        var done = 0;
        for (; done < iterations; done++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            using var step = NewDisposeScope();
            var f = problem.Focal * Math.Exp(state.LogFocal);
            var rx = state.R.index_select(0, cam).bmm(state.X.index_select(0, pt).unsqueeze(-1)).squeeze(-1);   // R X
            var x = rx + state.T.index_select(0, cam);
            var z = x[.., 2].clamp_min(1e-9);
            var residual = f * x[.., 0..2] / z.unsqueeze(1) + centre - uv;                                     // [N, 2]
            // d(u, v)/d(camera point): f / z [[1, 0, -x/z], [0, 1, -y/z]].
            var zeroN = zeros_like(z);
            var a = stack([f / z, zeroN, -f * x[.., 0] / z.square(), zeroN, f / z, -f * x[.., 1] / z.square()], -1).reshape(-1, 2, 3);
            var jRotation = -a.bmm(Skew(rx));
            var jFocal = (f * x[.., 0..2] / z.unsqueeze(1)).unsqueeze(-1);
            var jc = cat([jRotation, a, jFocal], -1) * freeColumns;                                             // [N, 2, 7]
            var jp = a.bmm(state.R.index_select(0, cam));                                                      // [N, 2, 3]
            // Huber by IRLS: weight 1 inside delta, delta / |r| outside (per component).
            var weight = where(residual.abs() <= huberPixels, ones_like(residual), huberPixels / residual.abs().clamp_min(1e-12)).sqrt();
            jc *= weight.unsqueeze(-1);
            jp *= weight.unsqueeze(-1);
            var r = residual * weight;

            var jcT = jc.transpose(1, 2);
            var flat = (columns.unsqueeze(2) * dims + columns.unsqueeze(1)).reshape(-1);
            var u = zeros(dims * dims, dtype: float64).index_add(0, flat, jcT.bmm(jc).reshape(-1), 1).reshape(dims, dims);
            var gc = zeros(dims, dtype: float64).index_add(0, columns.reshape(-1), jcT.bmm(r.unsqueeze(-1)).reshape(-1), 1);
            var w = jcT.bmm(jp);                                                                                 // [N, 7, 3]
            var v = zeros(points, 9, dtype: float64).index_add(0, pt, jp.transpose(1, 2).bmm(jp).reshape(-1, 9), 1).reshape(-1, 3, 3);
            var gp = zeros(points, 3, dtype: float64).index_add(0, pt, jp.transpose(1, 2).bmm(r.unsqueeze(-1)).squeeze(-1), 1);
            var wDense = zeros(points * dims, 3, dtype: float64).index_add(0, (pt.unsqueeze(1) * dims + columns).reshape(-1), w.reshape(-1, 3), 1)
                .reshape(points, dims, 3);

            // Try damped steps until one lowers the cost.
            var accepted = false;
            for (var attempt = 0; attempt < 10 && !accepted; attempt++)
            {
                using var tryScope = NewDisposeScope();
                var vDamped = v + (v.diagonal(0, 1, 2) * lambda + 1e-9).diag_embed();
                var vInverse = linalg.inv(vDamped);
                var uDamped = u + (u.diagonal() * lambda).diag() + (1 - pinned).diag();
                var schur = uDamped.clone();
                var rhs = -gc.clone();
                for (var start = 0; start < points; start += SchurChunk)
                {
                    var length = Math.Min(SchurChunk, points - start);
                    var wc = wDense.narrow(0, start, length);
                    var vc = vInverse.narrow(0, start, length);
                    schur -= einsum("pdk,pkl,pel->de", wc, vc, wc);
                    rhs += einsum("pdk,pkl,pl->d", wc, vc, gp.narrow(0, start, length));
                }

                var dc = linalg.solve(schur, rhs.unsqueeze(1)).squeeze(1) * pinned;
                var dp = -vInverse.bmm((gp + wDense.transpose(1, 2).matmul(dc)).unsqueeze(-1)).squeeze(-1);
                var candidate = state.Stepped(dc, dp, cameras);
                candidate.Rescale(problem);
                var newCost = Cost(candidate);
                if (double.IsFinite(newCost) && newCost < cost)
                {
                    var improvement = (cost - newCost) / Math.Max(cost, 1e-300);
                    state.Replace(candidate);
                    cost = newCost;
                    lambda = Math.Max(lambda / 3, 1e-9);
                    accepted = true;
                    if (improvement < 1e-7) done = iterations;
                }
                else lambda *= 5;
            }

            if (!accepted) break;
        }

        var final = Rms(state);
        state.WriteBack(problem);
        return new BundleReport(initial, final, Math.Min(done, iterations));
    }

    /// <summary>Rotation matrices, translations, points and log focal (relative to the problem's focal) being refined.</summary>
    private sealed class State
    {
        public Tensor R { get; private set; }
        public Tensor T { get; private set; }
        public Tensor X { get; private set; }
        public double LogFocal { get; private set; }

        private State(Tensor r, Tensor t, Tensor x, double logFocal) => (R, T, X, LogFocal) = (r, t, x, logFocal);

        public State(BundleProblem problem)
        {
            var cameras = problem.Rotations.Length;
            R = RotationMatrices(tensor(problem.Rotations.SelectMany(r => r).ToArray(), float64).reshape(cameras, 3)).DetachFromDisposeScope();
            T = tensor(problem.Translations.SelectMany(t => t).ToArray(), float64).reshape(cameras, 3).DetachFromDisposeScope();
            X = tensor(problem.Points.SelectMany(p => p).ToArray(), float64).reshape(-1, 3).DetachFromDisposeScope();
        }

        public State Stepped(Tensor dc, Tensor dp, int cameras)
        {
            var d = dc[..(6 * cameras)].reshape(cameras, 6);
            return new State(RotationMatrices(d[.., 0..3]).bmm(R), T + d[.., 3..6], X + dp, LogFocal + dc[6 * cameras].item<double>());
        }

        /// <summary>Scales the scene about the fixed camera's centre so the scale camera keeps its distance: X' = c0 +
        /// s (X - c0), t' = s t + (s - 1) R c0 (reprojections unchanged, the fixed camera unmoved).</summary>
        public void Rescale(BundleProblem problem)
        {
            if (problem.ScaleCamera < 0) return;
            var centres = -R.transpose(1, 2).bmm(T.unsqueeze(-1)).squeeze(-1);
            var c0 = centres[problem.FixedCamera];
            var distance = (centres[problem.ScaleCamera] - c0).norm().item<double>();
            if (!(distance > 1e-12)) return;
            var s = problem.ScaleDistance / distance;
            X = c0 + s * (X - c0);
            T = s * T + (s - 1) * R.bmm(c0.expand(R.shape[0], 3).unsqueeze(-1)).squeeze(-1);
        }

        /// <summary>Takes the other state's tensors out of their (step) dispose scope; this state owns them from now on.</summary>
        public void Replace(State other)
        {
            Free();
            (R, T, X, LogFocal) = (other.R.DetachFromDisposeScope(), other.T.DetachFromDisposeScope(), other.X.DetachFromDisposeScope(), other.LogFocal);
        }

        /// <summary>Disposes the tensors this state owns (a candidate's belong to its step's dispose scope instead).</summary>
        public void Free()
        {
            R.Dispose();
            T.Dispose();
            X.Dispose();
        }

        public void WriteBack(BundleProblem problem)
        {
            var r = R.contiguous().data<double>().ToArray();
            var t = T.contiguous().data<double>().ToArray();
            var x = X.contiguous().data<double>().ToArray();
            for (var c = 0; c < problem.Rotations.Length; c++)
            {
                problem.Rotations[c] = AxisAngle(r[(9 * c)..(9 * c + 9)]);
                problem.Translations[c] = [t[3 * c], t[3 * c + 1], t[3 * c + 2]];
            }

            for (var i = 0; i < problem.Points.Length; i++) problem.Points[i] = [x[3 * i], x[3 * i + 1], x[3 * i + 2]];
            problem.Focal *= Math.Exp(LogFocal);
        }
    }
}
