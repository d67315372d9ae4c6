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

/// <summary>Bundle adjustment by Levenberg-Marquardt in plain .NET (float64, no native tensor library, so the ingest
/// worker carries no libtorch): analytic Jacobians of the pixel reprojection errors (rotations updated on the left by a
/// small axis-angle step, translations, points, the log focal length), a Huber loss by iteratively reweighted least
/// squares, and the Schur complement that eliminates the points (3x3 blocks) so only the cameras' normal equations are
/// solved densely. Camera <see cref="BundleProblem.FixedCamera"/> is fixed; after each step the scene is rescaled about
/// it so <see cref="BundleProblem.ScaleCamera"/> keeps its distance (the scale gauge).</summary>
public static class BundleAdjuster
{
    /// <summary>Camera-side parameters an observation touches: rotation step (3), translation (3), log focal (1).</summary>
    private const int CameraSide = 7;

    /// <summary>Parts the points are split into for the Schur complement's sums (fixed, so results do not depend on the
    /// machine's core count).</summary>
    private const int SchurParts = 8;

    /// <summary>Huber loss of one residual component: quadratic below <paramref name="delta"/>, linear above.</summary>
    public static double HuberLoss(double residual, double delta)
    {
        var a = Math.Abs(residual);
        return a < delta ? 0.5 * a * a : delta * (a - 0.5 * delta);
    }

    /// <summary>Rotates <paramref name="x"/> by the axis-angle vector <paramref name="r"/> (Rodrigues).</summary>
    public static double[] Rotate(double[] r, double[] x)
    {
        ArgumentNullException.ThrowIfNull(r);
        ArgumentNullException.ThrowIfNull(x);
        var m = RotationMatrix(r[0], r[1], r[2]);
        return [m[0] * x[0] + m[1] * x[1] + m[2] * x[2], m[3] * x[0] + m[4] * x[1] + m[5] * x[2], m[6] * x[0] + m[7] * x[1] + m[8] * x[2]];
    }

    /// <summary>Row-major rotation matrix of an axis-angle vector.</summary>
    private static double[] RotationMatrix(double rx, double ry, double rz)
    {
        var theta = Math.Sqrt(rx * rx + ry * ry + rz * rz + 1e-30);
        var (kx, ky, kz) = (rx / theta, ry / theta, rz / theta);
        var (c, s) = (Math.Cos(theta), Math.Sin(theta));
        var v = 1 - c;
        return
        [
            c + kx * kx * v, kx * ky * v - kz * s, kx * kz * v + ky * s,
            ky * kx * v + kz * s, c + ky * ky * v, ky * kz * v - kx * s,
            kz * kx * v - ky * s, kz * ky * v + kx * s, c + kz * kz * v,
        ];
    }

    /// <summary>Axis-angle vector of a row-major rotation matrix (via OpenCV's Rodrigues).</summary>
    private static double[] AxisAngle(ReadOnlySpan<double> m)
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
        var solver = new Solver(problem, huberPixels, optimizeFocal);
        var state = new State(problem);
        var initial = solver.Rms(state);
        var cost = solver.Cost(state);
        var lambda = 1e-3;
        var done = 0;
        for (; done < iterations; done++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var system = solver.Linearise(state);
            // Try damped steps until one lowers the cost.
            var accepted = false;
            for (var attempt = 0; attempt < 10 && !accepted; attempt++)
            {
                cancellationToken.ThrowIfCancellationRequested();
                var candidate = solver.Step(state, system, lambda);
                var newCost = candidate is null ? double.NaN : solver.Cost(candidate);
                if (candidate is not null && double.IsFinite(newCost) && newCost < cost)
                {
                    var improvement = (cost - newCost) / Math.Max(cost, 1e-300);
                    state = candidate;
                    cost = newCost;
                    lambda = Math.Max(lambda / 3, 1e-9);
                    accepted = true;
                    if (improvement < 1e-7) done = iterations;
                }
                else lambda *= 5;
            }

            if (!accepted) break;
        }

        var final = solver.Rms(state);
        state.WriteBack(problem);
        return new BundleReport(initial, final, Math.Min(done, iterations));
    }

    /// <summary>The normal equations of one linearisation, points not yet eliminated: U (cameras, dense), the camera
    /// gradient, per point V (3x3) and its gradient, and per observation W (7x3, the camera-point coupling).</summary>
    private sealed record NormalEquations(double[] U, double[] CameraGradient, double[] V, double[] PointGradient, double[] W);

    /// <summary>The fixed parts of a problem (observations grouped by point, gauge masks) and the operations on a state.</summary>
    private sealed class Solver
    {
        private readonly BundleProblem _problem;
        private readonly double _huber;
        private readonly int _cameras;
        private readonly int _dims;                 // 6 per camera, then the log focal
        private readonly int[] _pointStart;         // observations of point p: _byPoint[_pointStart[p].._pointStart[p + 1]]
        private readonly int[] _byPoint;
        private readonly double[] _free;            // per camera x 7: 1 where a step may move the parameter
        private readonly double[] _pinned;          // per global parameter: 1 free, 0 gauge (or a fixed focal length)

        public Solver(BundleProblem problem, double huberPixels, bool optimizeFocal)
        {
            _problem = problem;
            _huber = huberPixels;
            _cameras = problem.Rotations.Length;
            _dims = 6 * _cameras + 1;
            var points = problem.Points.Length;
            _pointStart = new int[points + 1];
            foreach (var o in problem.Observations) _pointStart[o.Point + 1]++;
            for (var p = 0; p < points; p++) _pointStart[p + 1] += _pointStart[p];
            _byPoint = new int[problem.Observations.Count];
            var next = _pointStart[..points];
            for (var i = 0; i < problem.Observations.Count; i++) _byPoint[next[problem.Observations[i].Point]++] = i;

            _free = new double[_cameras * CameraSide];
            Array.Fill(_free, 1.0);
            for (var j = 0; j < 6; j++) _free[problem.FixedCamera * CameraSide + j] = 0;
            if (!optimizeFocal)
                for (var c = 0; c < _cameras; c++) _free[c * CameraSide + 6] = 0;
            if (problem.ScaleCamera >= 0 && problem.ScaleCamera != problem.FixedCamera)
            {
                // The scale gauge: the largest translation component of the scale camera stays put during a step (a
                // free scale makes the normal equations singular); Rescale then restores its exact distance.
                var t = problem.Translations[problem.ScaleCamera];
                var axis = Enumerable.Range(0, 3).MaxBy(i => Math.Abs(t[i]));
                _free[problem.ScaleCamera * CameraSide + 3 + axis] = 0;
            }

            _pinned = new double[_dims];
            for (var c = 0; c < _cameras; c++)
            for (var j = 0; j < 6; j++)
                _pinned[6 * c + j] = _free[c * CameraSide + j];
            _pinned[_dims - 1] = optimizeFocal ? 1 : 0;
        }

        /// <summary>Global parameter index of an observation's camera-side column j.</summary>
        private int Column(int camera, int j) => j < 6 ? 6 * camera + j : _dims - 1;

        /// <summary>Camera-frame point of observation i and its pixel residual.</summary>
        private (double X, double Y, double Z, double Ru, double Rv) Project(State s, int i)
        {
            var o = _problem.Observations[i];
            var r = s.R.AsSpan(9 * o.Camera, 9);
            var (px, py, pz) = (s.X[3 * o.Point], s.X[3 * o.Point + 1], s.X[3 * o.Point + 2]);
            var x = r[0] * px + r[1] * py + r[2] * pz + s.T[3 * o.Camera];
            var y = r[3] * px + r[4] * py + r[5] * pz + s.T[3 * o.Camera + 1];
            var z = r[6] * px + r[7] * py + r[8] * pz + s.T[3 * o.Camera + 2];
            var f = _problem.Focal * Math.Exp(s.LogFocal);
            var zc = Math.Max(z, 1e-9);
            return (x, y, zc, f * x / zc + _problem.Cx - o.U, f * y / zc + _problem.Cy - o.V);
        }

        public double Cost(State s)
        {
            double sum = 0;
            for (var i = 0; i < _problem.Observations.Count; i++)
            {
                var (_, _, _, ru, rv) = Project(s, i);
                sum += HuberLoss(ru, _huber) + HuberLoss(rv, _huber);
            }

            return sum;
        }

        public double Rms(State s)
        {
            double sum = 0;
            for (var i = 0; i < _problem.Observations.Count; i++)
            {
                var (_, _, _, ru, rv) = Project(s, i);
                sum += ru * ru + rv * rv;
            }

            return Math.Sqrt(sum / _problem.Observations.Count);
        }

        /// <summary>Jacobians and residuals at the state, Huber-reweighted, summed into the normal equations.</summary>
        public NormalEquations Linearise(State s)
        {
            var n = _problem.Observations.Count;
            var u = new double[_dims * _dims];
            var gc = new double[_dims];
            var v = new double[_problem.Points.Length * 9];
            var gp = new double[_problem.Points.Length * 3];
            var w = new double[n * CameraSide * 3];
            var f = _problem.Focal * Math.Exp(s.LogFocal);
            Span<double> jc = stackalloc double[2 * CameraSide];
            Span<double> jp = stackalloc double[6];
            Span<int> columns = stackalloc int[CameraSide];
            for (var i = 0; i < n; i++)
            {
                var o = _problem.Observations[i];
                var (x, y, z, ru, rv) = Project(s, i);
                var r = s.R.AsSpan(9 * o.Camera, 9);
                var (px, py, pz) = (s.X[3 * o.Point], s.X[3 * o.Point + 1], s.X[3 * o.Point + 2]);
                // R X (the rotated point before translation): d(exp(w) R X)/dw = -[R X]x.
                var (qx, qy, qz) = (x - s.T[3 * o.Camera], y - s.T[3 * o.Camera + 1], z - s.T[3 * o.Camera + 2]);
                if (z <= 1e-9) (qx, qy, qz) = (r[0] * px + r[1] * py + r[2] * pz, r[3] * px + r[4] * py + r[5] * pz, r[6] * px + r[7] * py + r[8] * pz);
                // d(u, v)/d(camera point) = f / z [[1, 0, -x/z], [0, 1, -y/z]].
                var a00 = f / z;
                var a02 = -f * x / (z * z);
                var a12 = -f * y / (z * z);
                // Huber by IRLS: weight 1 inside delta, delta / |r| outside (per component), rows scaled by its root.
                var wu = Math.Sqrt(Math.Abs(ru) <= _huber ? 1 : _huber / Math.Max(Math.Abs(ru), 1e-12));
                var wv = Math.Sqrt(Math.Abs(rv) <= _huber ? 1 : _huber / Math.Max(Math.Abs(rv), 1e-12));
                // Row u: A row 0 = (a00, 0, a02); row v: A row 1 = (0, a00, a12). Rotation columns: -A [q]x.
                // [q]x = [[0, -qz, qy], [qz, 0, -qx], [-qy, qx, 0]].
                jc[0] = -(a02 * -qy);
                jc[1] = -(a00 * -qz + a02 * qx);
                jc[2] = -(a00 * qy);
                jc[3] = a00; jc[4] = 0; jc[5] = a02;
                jc[6] = f * x / z;
                jc[7] = -(a00 * qz + a12 * -qy);
                jc[8] = -(a12 * qx);
                jc[9] = -(a00 * -qx);
                jc[10] = 0; jc[11] = a00; jc[12] = a12;
                jc[13] = f * y / z;
                var free = _free.AsSpan(o.Camera * CameraSide, CameraSide);
                for (var j = 0; j < CameraSide; j++)
                {
                    jc[j] *= free[j] * wu;
                    jc[CameraSide + j] *= free[j] * wv;
                    columns[j] = Column(o.Camera, j);
                }

                // Point columns: A R.
                for (var k = 0; k < 3; k++)
                {
                    jp[k] = (a00 * r[k] + a02 * r[6 + k]) * wu;
                    jp[3 + k] = (a00 * r[3 + k] + a12 * r[6 + k]) * wv;
                }

                var (eu, ev) = (ru * wu, rv * wv);
                for (var j = 0; j < CameraSide; j++)
                {
                    var (cj, uj, vj) = (columns[j] * _dims, jc[j], jc[CameraSide + j]);
                    for (var k = 0; k < CameraSide; k++) u[cj + columns[k]] += uj * jc[k] + vj * jc[CameraSide + k];
                    gc[columns[j]] += uj * eu + vj * ev;
                    for (var k = 0; k < 3; k++) w[(i * CameraSide + j) * 3 + k] = uj * jp[k] + vj * jp[3 + k];
                }

                var vp = v.AsSpan(9 * o.Point, 9);
                for (var j = 0; j < 3; j++)
                {
                    for (var k = 0; k < 3; k++) vp[3 * j + k] += jp[j] * jp[k] + jp[3 + j] * jp[3 + k];
                    gp[3 * o.Point + j] += jp[j] * eu + jp[3 + j] * ev;
                }
            }

            return new NormalEquations(u, gc, v, gp, w);
        }

        /// <summary>The damped step from the state (a new state), or null when the reduced system is singular.</summary>
        public State? Step(State s, NormalEquations e, double lambda)
        {
            var points = _problem.Points.Length;
            var vInverse = new double[points * 9];
            Span<double> damped = stackalloc double[9];
            for (var p = 0; p < points; p++)
            {
                e.V.AsSpan(9 * p, 9).CopyTo(damped);
                for (var j = 0; j < 3; j++) damped[4 * j] += damped[4 * j] * lambda + 1e-9;
                if (!Invert3(damped, vInverse.AsSpan(9 * p, 9))) return null;
            }

            // Reduced camera system: S = U - sum_p W_p V_p^-1 W_p^T, rhs = -g_c + sum_p W_p V_p^-1 g_p. The points are dealt
            // round a fixed number of parts, each summed into its own S on a thread, and the parts are added in order: the
            // same sums in the same order on any machine and in every run (a different order moved seed 2 of bench recon
            // by 2.6 mm).
            var parts = _dims > 600 ? 4 : SchurParts;
            var partials = new (double[] S, double[] B)[parts];
            Parallel.For(0, parts, part =>
            {
                var (partS, partB) = (new double[_dims * _dims], new double[_dims]);
                var wv = new double[64 * CameraSide * 3];
                for (var p = part; p < points; p += parts) AccumulatePoint(p, e, vInverse, partS, partB, ref wv);
                partials[part] = (partS, partB);
            });
            var schur = new double[_dims * _dims];
            var rhs = new double[_dims];
            foreach (var (partS, partB) in partials)
            {
                for (var k = 0; k < schur.Length; k++) schur[k] -= partS[k];
                for (var k = 0; k < rhs.Length; k++) rhs[k] += partB[k];
            }

            for (var j = 0; j < _dims; j++)
            {
                var diagonal = e.U[j * _dims + j];
                for (var k = 0; k < _dims; k++) schur[j * _dims + k] += e.U[j * _dims + k];
                schur[j * _dims + j] += diagonal * lambda + (1 - _pinned[j]);
                rhs[j] -= e.CameraGradient[j];
            }

            if (!DenseSolve(schur, rhs, _dims)) return null;
            var dc = rhs;
            for (var j = 0; j < _dims; j++) dc[j] *= _pinned[j];

            // Back-substitution for the points: dp = -V^-1 (g_p + sum_obs W^T dc).
            var dp = new double[points * 3];
            Span<double> b = stackalloc double[3];
            for (var p = 0; p < points; p++)
            {
                for (var k = 0; k < 3; k++) b[k] = e.PointGradient[3 * p + k];
                for (var a = _pointStart[p]; a < _pointStart[p + 1]; a++)
                {
                    var i = _byPoint[a];
                    var camera = _problem.Observations[i].Camera;
                    for (var j = 0; j < CameraSide; j++)
                    {
                        var step = dc[Column(camera, j)];
                        for (var k = 0; k < 3; k++) b[k] += e.W[(i * CameraSide + j) * 3 + k] * step;
                    }
                }

                var inv = vInverse.AsSpan(9 * p, 9);
                for (var k = 0; k < 3; k++) dp[3 * p + k] = -(inv[3 * k] * b[0] + inv[3 * k + 1] * b[1] + inv[3 * k + 2] * b[2]);
            }

            var candidate = s.Stepped(dc, dp, _cameras);
            candidate.Rescale(_problem);
            return candidate;
        }

        /// <summary>Point p's share of the reduced system: S += Σ_ij (W_i V^-1) W_j^T over its observations i, j, and
        /// B += Σ_i W_i V^-1 g_p, into the observations' global columns.</summary>
        private void AccumulatePoint(int p, NormalEquations e, double[] vInverse, double[] s, double[] b, ref double[] wv)
        {
            var (start, end) = (_pointStart[p], _pointStart[p + 1]);
            var count = end - start;
            if (count == 0) return;
            if (wv.Length < count * CameraSide * 3) wv = new double[count * CameraSide * 3];
            var inv = vInverse.AsSpan(9 * p, 9);
            var g = e.PointGradient.AsSpan(3 * p, 3);
            for (var a = 0; a < count; a++)
            {
                var i = _byPoint[start + a];
                var camera = _problem.Observations[i].Camera;
                for (var j = 0; j < CameraSide; j++)
                {
                    var row = e.W.AsSpan((i * CameraSide + j) * 3, 3);
                    var target = wv.AsSpan((a * CameraSide + j) * 3, 3);
                    for (var k = 0; k < 3; k++) target[k] = row[0] * inv[k] + row[1] * inv[3 + k] + row[2] * inv[6 + k];
                    b[Column(camera, j)] += target[0] * g[0] + target[1] * g[1] + target[2] * g[2];
                }
            }

            for (var a = 0; a < count; a++)
            {
                var cameraA = _problem.Observations[_byPoint[start + a]].Camera;
                for (var c = 0; c < count; c++)
                {
                    var i = _byPoint[start + c];
                    var cameraC = _problem.Observations[i].Camera;
                    for (var j = 0; j < CameraSide; j++)
                    {
                        var left = wv.AsSpan((a * CameraSide + j) * 3, 3);
                        var rowOffset = Column(cameraA, j) * _dims;
                        for (var k = 0; k < CameraSide; k++)
                        {
                            var right = e.W.AsSpan((i * CameraSide + k) * 3, 3);
                            s[rowOffset + Column(cameraC, k)] += left[0] * right[0] + left[1] * right[1] + left[2] * right[2];
                        }
                    }
                }
            }
        }
    }

    /// <summary>Inverse of a 3x3 matrix (row-major) by its adjugate; false when singular.</summary>
    private static bool Invert3(ReadOnlySpan<double> m, Span<double> inverse)
    {
        var c00 = m[4] * m[8] - m[5] * m[7];
        var c01 = m[5] * m[6] - m[3] * m[8];
        var c02 = m[3] * m[7] - m[4] * m[6];
        var det = m[0] * c00 + m[1] * c01 + m[2] * c02;
        if (!(Math.Abs(det) > 1e-300) || !double.IsFinite(det)) return false;
        var d = 1 / det;
        inverse[0] = c00 * d;
        inverse[1] = (m[2] * m[7] - m[1] * m[8]) * d;
        inverse[2] = (m[1] * m[5] - m[2] * m[4]) * d;
        inverse[3] = c01 * d;
        inverse[4] = (m[0] * m[8] - m[2] * m[6]) * d;
        inverse[5] = (m[2] * m[3] - m[0] * m[5]) * d;
        inverse[6] = c02 * d;
        inverse[7] = (m[1] * m[6] - m[0] * m[7]) * d;
        inverse[8] = (m[0] * m[4] - m[1] * m[3]) * d;
        return true;
    }

    /// <summary>Solves a x = b in place (b becomes x) by Gaussian elimination with partial pivoting; false when singular.</summary>
    internal static bool DenseSolve(double[] a, double[] b, int n)
    {
        for (var col = 0; col < n; col++)
        {
            var pivot = col;
            for (var row = col + 1; row < n; row++)
                if (Math.Abs(a[row * n + col]) > Math.Abs(a[pivot * n + col])) pivot = row;
            var p = a[pivot * n + col];
            if (!(Math.Abs(p) > 1e-300) || !double.IsFinite(p)) return false;
            if (pivot != col)
            {
                for (var k = 0; k < n; k++) (a[col * n + k], a[pivot * n + k]) = (a[pivot * n + k], a[col * n + k]);
                (b[col], b[pivot]) = (b[pivot], b[col]);
            }

            var pivotRow = a.AsSpan(col * n, n);
            for (var row = col + 1; row < n; row++)
            {
                var factor = a[row * n + col] / p;
                if (factor == 0) continue;
                var target = a.AsSpan(row * n, n);
                for (var k = col; k < n; k++) target[k] -= factor * pivotRow[k];
                b[row] -= factor * b[col];
            }
        }

        for (var row = n - 1; row >= 0; row--)
        {
            var sum = b[row];
            for (var k = row + 1; k < n; k++) sum -= a[row * n + k] * b[k];
            b[row] = sum / a[row * n + row];
        }

        return true;
    }

    /// <summary>Rotation matrices (row-major, 9 per camera), translations, points and log focal (relative to the problem's
    /// focal) being refined.</summary>
    private sealed class State
    {
        public double[] R { get; }
        public double[] T { get; }
        public double[] X { get; }
        public double LogFocal { get; }

        private State(double[] r, double[] t, double[] x, double logFocal) => (R, T, X, LogFocal) = (r, t, x, logFocal);

        public State(BundleProblem problem)
        {
            R = problem.Rotations.SelectMany(r => RotationMatrix(r[0], r[1], r[2])).ToArray();
            T = problem.Translations.SelectMany(t => t).ToArray();
            X = problem.Points.SelectMany(p => p).ToArray();
        }

        public State Stepped(double[] dc, double[] dp, int cameras)
        {
            var r = new double[R.Length];
            var t = new double[T.Length];
            for (var c = 0; c < cameras; c++)
            {
                var d = RotationMatrix(dc[6 * c], dc[6 * c + 1], dc[6 * c + 2]);
                for (var i = 0; i < 3; i++)
                for (var j = 0; j < 3; j++)
                    r[9 * c + 3 * i + j] = d[3 * i] * R[9 * c + j] + d[3 * i + 1] * R[9 * c + 3 + j] + d[3 * i + 2] * R[9 * c + 6 + j];
                for (var k = 0; k < 3; k++) t[3 * c + k] = T[3 * c + k] + dc[6 * c + 3 + k];
            }

            var x = new double[X.Length];
            for (var k = 0; k < x.Length; k++) x[k] = X[k] + dp[k];
            return new State(r, t, x, LogFocal + dc[6 * cameras]);
        }

        private (double X, double Y, double Z) Centre(int c) =>
        (
            -(R[9 * c] * T[3 * c] + R[9 * c + 3] * T[3 * c + 1] + R[9 * c + 6] * T[3 * c + 2]),
            -(R[9 * c + 1] * T[3 * c] + R[9 * c + 4] * T[3 * c + 1] + R[9 * c + 7] * T[3 * c + 2]),
            -(R[9 * c + 2] * T[3 * c] + R[9 * c + 5] * T[3 * c + 1] + R[9 * c + 8] * T[3 * c + 2])
        );

        /// <summary>Scales the scene about the fixed camera's centre so the scale camera keeps its distance: X' = c0 +
        /// s (X - c0), t' = s t + (s - 1) R c0 (reprojections unchanged, the fixed camera unmoved).</summary>
        public void Rescale(BundleProblem problem)
        {
            if (problem.ScaleCamera < 0) return;
            var c0 = Centre(problem.FixedCamera);
            var c1 = Centre(problem.ScaleCamera);
            var distance = Math.Sqrt((c1.X - c0.X) * (c1.X - c0.X) + (c1.Y - c0.Y) * (c1.Y - c0.Y) + (c1.Z - c0.Z) * (c1.Z - c0.Z));
            if (!(distance > 1e-12)) return;
            var s = problem.ScaleDistance / distance;
            for (var p = 0; p < X.Length; p += 3)
            {
                X[p] = c0.X + s * (X[p] - c0.X);
                X[p + 1] = c0.Y + s * (X[p + 1] - c0.Y);
                X[p + 2] = c0.Z + s * (X[p + 2] - c0.Z);
            }

            for (var c = 0; c < T.Length / 3; c++)
            for (var i = 0; i < 3; i++)
            {
                var rc0 = R[9 * c + 3 * i] * c0.X + R[9 * c + 3 * i + 1] * c0.Y + R[9 * c + 3 * i + 2] * c0.Z;
                T[3 * c + i] = s * T[3 * c + i] + (s - 1) * rc0;
            }
        }

        public void WriteBack(BundleProblem problem)
        {
            for (var c = 0; c < problem.Rotations.Length; c++)
            {
                problem.Rotations[c] = AxisAngle(R.AsSpan(9 * c, 9));
                problem.Translations[c] = [T[3 * c], T[3 * c + 1], T[3 * c + 2]];
            }

            for (var i = 0; i < problem.Points.Length; i++) problem.Points[i] = [X[3 * i], X[3 * i + 1], X[3 * i + 2]];
            problem.Focal *= Math.Exp(LogFocal);
        }
    }
}
