using Concerto.Ingest.Reconstruction.Fusion;

namespace Concerto.Ingest.Reconstruction.Classic.Stereo;

/// <summary>PatchMatch multi-view stereo (the scheme of Gipuma and COLMAP's patch-match stereo, on the CPU in plain
/// .NET): every reference pixel holds a slanted plane (depth and normal in the camera frame) instead of a
/// fronto-parallel depth, so oblique walls and floors match with the right window shape and depth is continuous rather
/// than one of a set of planes. Planes start random; each iteration visits the pixels in a red-black checkerboard, each
/// pixel trying the planes of 8 pixels of the other colour (1 and 5 pixels away in the four directions) and then
/// random perturbations of its own, shrinking iteration by iteration. A plane's cost is 1 - bilaterally weighted NCC of
/// the reference window against each neighbour's image warped through the plane's homography, the mean of the best K
/// neighbours. The pixels of one colour only read the other colour's planes, so a half-iteration runs in parallel and
/// the result depends on the seed alone.</summary>
public static class PatchMatchStereo
{
    private const float InvalidCost = 2f;

    public static DepthFrame Estimate(StereoView reference, IReadOnlyList<StereoView> neighbours, (float Near, float Far) depthRange,
        PatchMatchSettings settings, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(settings);
        settings.Validate();
        StereoPlanning.CheckInputs(reference, neighbours, depthRange, "PatchMatch");
        var (near, far) = depthRange;

        var working = WorkingImage.Of(reference, settings.MaxSide);
        var sources = neighbours.Select(n => WorkingImage.Of(n ?? throw new ArgumentException("a neighbour view is null", nameof(neighbours)), settings.MaxSide)).ToList();
        var solver = new Solver(working, sources, near, far, settings);
        solver.Run(cancellationToken);
        return solver.Result();
    }

    /// <summary>The state of one reference view's PatchMatch: its planes, their costs and the precomputed windows.</summary>
    private sealed class Solver
    {
        private readonly WorkingImage _reference;
        private readonly Source[] _sources;
        private readonly PatchMatchSettings _settings;
        private readonly int _width, _height, _samples;
        private readonly float _fx, _fy, _cx, _cy;
        private readonly float _inverseNear, _inverseFar;
        private readonly int[] _dx, _dy;
        // Per pixel: the reference window's grey samples and bilateral weights ([pixel * samples + s]; weight 0 outside
        // the image), their weighted mean and variance.
        private readonly float[] _windowGray, _windowWeight, _mean, _variance;
        // Per pixel: the plane (depth along the optical axis and unit normal, camera frame) and its cost.
        private readonly float[] _depth, _nx, _ny, _nz, _cost;

        /// <summary>A neighbour: its grey image and the rotation and translation from the reference camera into it.</summary>
        private sealed record Source(WorkingImage Image, float[] R, float[] T);

        public Solver(WorkingImage reference, List<WorkingImage> sources, float near, float far, PatchMatchSettings settings)
        {
            _reference = reference;
            _settings = settings;
            (_width, _height) = (reference.Width, reference.Height);
            var k = reference.K;
            (_fx, _fy, _cx, _cy) = ((float)k.Fx, (float)k.Fy, (float)k.Cx, (float)k.Cy);
            (_inverseNear, _inverseFar) = (1 / near, 1 / far);
            _sources = sources.Select(s =>
            {
                var (r, t) = PlaneSweepStereo.Relative(reference.CameraToWorld, s.CameraToWorld);
                return new Source(s, r, t);
            }).ToArray();

            var offsets = new List<int>();
            for (var o = -settings.Radius; o <= settings.Radius; o += settings.Step) offsets.Add(o);
            _samples = offsets.Count * offsets.Count;
            (_dx, _dy) = (new int[_samples], new int[_samples]);
            for (var i = 0; i < _samples; i++) (_dx[i], _dy[i]) = (offsets[i % offsets.Count], offsets[i / offsets.Count]);

            var pixels = _width * _height;
            (_windowGray, _windowWeight) = (new float[pixels * _samples], new float[pixels * _samples]);
            (_mean, _variance) = (new float[pixels], new float[pixels]);
            (_depth, _nx, _ny, _nz, _cost) = (new float[pixels], new float[pixels], new float[pixels], new float[pixels], new float[pixels]);
            PrepareWindows();
        }

        private void PrepareWindows()
        {
            var gray = _reference.Gray;
            var sigmaSpatial = Math.Max(1, _settings.Radius);
            var (spatial, color) = (1 / (2f * sigmaSpatial * sigmaSpatial), 1 / (2f * (float)(_settings.SigmaColor * _settings.SigmaColor)));
            Parallel.For(0, _height, y =>
            {
                for (var x = 0; x < _width; x++)
                {
                    var p = y * _width + x;
                    var centre = gray[p];
                    float sw = 0, sa = 0, saa = 0;
                    for (var s = 0; s < _samples; s++)
                    {
                        var (qx, qy) = (x + _dx[s], y + _dy[s]);
                        if (qx < 0 || qx >= _width || qy < 0 || qy >= _height) continue;
                        var a = gray[qy * _width + qx];
                        var w = MathF.Exp(-(_dx[s] * _dx[s] + _dy[s] * _dy[s]) * spatial - (a - centre) * (a - centre) * color);
                        _windowGray[p * _samples + s] = a;
                        _windowWeight[p * _samples + s] = w;
                        sw += w;
                        sa += w * a;
                        saa += w * a * a;
                    }

                    var mean = sa / sw;
                    _mean[p] = mean;
                    _variance[p] = Math.Max(saa / sw - mean * mean, 0);
                }
            });
        }

        public void Run(CancellationToken cancellationToken)
        {
            var options = new ParallelOptions { CancellationToken = cancellationToken };
            Parallel.For(0, _height, options, y =>
            {
                for (var x = 0; x < _width; x++)
                {
                    var p = y * _width + x;
                    var random = new PixelRandom(_settings.Seed, 0, p);
                    _depth[p] = RandomDepth(ref random);
                    (_nx[p], _ny[p], _nz[p]) = RandomNormal(ref random, x, y);
                    _cost[p] = Cost(x, y, _depth[p], _nx[p], _ny[p], _nz[p]);
                }
            });

            for (var iteration = 0; iteration < _settings.Iterations; iteration++)
            for (var colour = 0; colour < 2; colour++)
            {
                var (it, c) = (iteration, colour);
                Parallel.For(0, _height, options, y =>
                {
                    for (var x = (y + c) % 2; x < _width; x += 2) Improve(x, y, it);
                });
            }
        }

        /// <summary>Offsets of the pixels whose planes a pixel tries: 1 and 5 away up, down, left and right (all of the
        /// other checkerboard colour).</summary>
        private static readonly (int X, int Y)[] Propagation = [(0, -1), (0, 1), (-1, 0), (1, 0), (0, -5), (0, 5), (-5, 0), (5, 0)];

        /// <summary>The best plane found so far for one pixel.</summary>
        private struct Best(float depth, float nx, float ny, float nz, float cost)
        {
            public float Depth = depth, Nx = nx, Ny = ny, Nz = nz, Cost = cost;
        }

        private void Consider(ref Best best, int x, int y, float depth, float nx, float ny, float nz)
        {
            if (!(depth * _inverseNear >= 0.9999f && depth * _inverseFar <= 1.0001f)) return;
            var cost = Cost(x, y, depth, nx, ny, nz);
            if (cost < best.Cost) best = new Best(depth, nx, ny, nz, cost);
        }

        private void Improve(int x, int y, int iteration)
        {
            var p = y * _width + x;
            var (rx, ry) = ((x - _cx) / _fx, (y - _cy) / _fy);
            var best = new Best(_depth[p], _nx[p], _ny[p], _nz[p], _cost[p]);
            foreach (var (ox, oy) in Propagation)
            {
                var (qx, qy) = (x + ox, y + oy);
                if (qx < 0 || qx >= _width || qy < 0 || qy >= _height) continue;
                var q = qy * _width + qx;
                var (nx, ny, nz) = (_nx[q], _ny[q], _nz[q]);
                // The neighbour's plane, met by this pixel's ray.
                var offset = _depth[q] * (nx * (qx - _cx) / _fx + ny * (qy - _cy) / _fy + nz);
                var along = nx * rx + ny * ry + nz;
                if (along < -1e-4f) Consider(ref best, x, y, offset / along, nx, ny, nz);
            }

            // Refinement: a random plane's depth and normal each alone, then a perturbation of the best plane that
            // shrinks with the iterations.
            var random = new PixelRandom(_settings.Seed, iteration + 1, p);
            var scale = MathF.Pow(0.5f, iteration + 1);
            var randomDepth = RandomDepth(ref random);
            var (gx, gy, gz) = RandomNormal(ref random, x, y);
            Consider(ref best, x, y, randomDepth, best.Nx, best.Ny, best.Nz);
            Consider(ref best, x, y, best.Depth, gx, gy, gz);
            var inverse = 1 / best.Depth + (random.NextFloat() * 2 - 1) * scale * (_inverseNear - _inverseFar) * 0.25f;
            var (px, py, pz) = Facing(best.Nx + scale * random.NextGaussian(), best.Ny + scale * random.NextGaussian(), best.Nz + scale * random.NextGaussian(), rx, ry);
            if (inverse > 0) Consider(ref best, x, y, 1 / inverse, px, py, pz);

            (_depth[p], _nx[p], _ny[p], _nz[p], _cost[p]) = (best.Depth, best.Nx, best.Ny, best.Nz, best.Cost);
        }

        private float RandomDepth(ref PixelRandom random) => 1 / (_inverseFar + random.NextFloat() * (_inverseNear - _inverseFar));

        /// <summary>A random unit normal facing the camera at pixel (x, y), at most about 70 degrees from the ray.</summary>
        private (float X, float Y, float Z) RandomNormal(ref PixelRandom random, int x, int y)
        {
            var (rx, ry) = ((x - _cx) / _fx, (y - _cy) / _fy);
            return Facing(random.NextGaussian(), random.NextGaussian(), random.NextGaussian(), rx, ry);
        }

        /// <summary>(x, y, z) normalised and turned to face the ray (rx, ry, 1): flipped when it faces away, blended
        /// with the ray's reverse when nearly edge-on.</summary>
        private static (float X, float Y, float Z) Facing(float x, float y, float z, float rx, float ry)
        {
            var rayLength = MathF.Sqrt(rx * rx + ry * ry + 1);
            var (vx, vy, vz) = (-rx / rayLength, -ry / rayLength, -1 / rayLength);   // towards the camera
            var length = MathF.Sqrt(x * x + y * y + z * z);
            if (!(length > 1e-9f)) return (vx, vy, vz);
            (x, y, z) = (x / length, y / length, z / length);
            var cos = x * vx + y * vy + z * vz;
            if (cos < 0) (x, y, z, cos) = (-x, -y, -z, -cos);
            if (cos < 0.35f)
            {
                (x, y, z) = (x + vx * (0.35f - cos), y + vy * (0.35f - cos), z + vz * (0.35f - cos));
                length = MathF.Sqrt(x * x + y * y + z * z);
                (x, y, z) = (x / length, y / length, z / length);
            }

            return (x, y, z);
        }

        /// <summary>The aggregated cost of a plane at pixel (x, y): the mean of the best K neighbours' 1 - NCC.</summary>
        private float Cost(int x, int y, float depth, float nx, float ny, float nz)
        {
            // c = n . X for the plane's point X on this pixel's ray: negative when the plane faces the camera.
            var (rx, ry) = ((x - _cx) / _fx, (y - _cy) / _fy);
            var c = depth * (nx * rx + ny * ry + nz);
            Span<float> costs = stackalloc float[_sources.Length];
            for (var n = 0; n < _sources.Length; n++) costs[n] = SourceCost(_sources[n], x, y, c, nx, ny, nz);
            var k = Math.Min(_settings.BestK, costs.Length);
            if (k < costs.Length) costs.Sort();
            float sum = 0;
            for (var i = 0; i < k; i++) sum += costs[i];
            return sum / k;
        }

        /// <summary>1 - weighted NCC of the reference window at (x, y) against one neighbour through the plane's homography
        /// H = K' (R + T n^T / c) K^-1 (<paramref name="c"/> = n . X on the plane, X its point on this pixel's ray); a
        /// window reaching outside the neighbour's image or behind it is no match.</summary>
        private float SourceCost(Source source, int x, int y, float c, float nx, float ny, float nz)
        {
            if (!(c < -1e-9f)) return InvalidCost;
            var (r, t) = (source.R, source.T);
            var image = source.Image;
            var kn = image.K;
            // Row i of M = R + T n^T / c, times K^-1 on the right, then K' on the left.
            Span<float> h = stackalloc float[9];
            for (var i = 0; i < 3; i++)
            {
                var (m0, m1, m2) = (r[3 * i] + t[i] * nx / c, r[3 * i + 1] + t[i] * ny / c, r[3 * i + 2] + t[i] * nz / c);
                (h[3 * i], h[3 * i + 1], h[3 * i + 2]) = (m0 / _fx, m1 / _fy, m2 - m0 * _cx / _fx - m1 * _cy / _fy);
            }

            var (fx, fy, cx, cy) = ((float)kn.Fx, (float)kn.Fy, (float)kn.Cx, (float)kn.Cy);
            var (h0, h1, h2) = (fx * h[0] + cx * h[6], fx * h[1] + cx * h[7], fx * h[2] + cx * h[8]);
            var (h3, h4, h5) = (fy * h[3] + cy * h[6], fy * h[4] + cy * h[7], fy * h[5] + cy * h[8]);
            var (h6, h7, h8) = (h[6], h[7], h[8]);

            var (w, hh) = (image.Width, image.Height);
            var (maxU, maxV) = (w - 1.001f, hh - 1.001f);
            var gray = image.Gray;
            var p = y * _width + x;
            var baseIndex = p * _samples;
            var weights = _windowWeight.AsSpan(baseIndex, _samples);
            var values = _windowGray.AsSpan(baseIndex, _samples);
            float sw = 0, sb = 0, sbb = 0, sab = 0;
            for (var s = 0; s < weights.Length; s++)
            {
                var weight = weights[s];
                if (weight == 0) continue;
                var (qx, qy) = ((float)(x + _dx[s]), (float)(y + _dy[s]));
                var zc = h6 * qx + h7 * qy + h8;
                if (!(zc > 1e-6f)) return InvalidCost;
                var inverse = 1 / zc;
                var u = (h0 * qx + h1 * qy + h2) * inverse;
                var v = (h3 * qx + h4 * qy + h5) * inverse;
                if (!(u >= 0 && v >= 0 && u <= maxU && v <= maxV)) return InvalidCost;
                var (x0, y0) = ((int)u, (int)v);
                var (ax, ay) = (u - x0, v - y0);
                var i0 = y0 * w + x0;
                var top = gray[i0] + ax * (gray[i0 + 1] - gray[i0]);
                var bottom = gray[i0 + w] + ax * (gray[i0 + w + 1] - gray[i0 + w]);
                var b = top + ay * (bottom - top);
                sw += weight;
                sb += weight * b;
                sbb += weight * b * b;
                sab += weight * values[s] * b;
            }

            var meanB = sb / sw;
            var varianceB = Math.Max(sbb / sw - meanB * meanB, 0);
            var covariance = sab / sw - _mean[p] * meanB;
            var ncc = covariance / MathF.Sqrt(_variance[p] * varianceB + 1e-10f);
            return Math.Clamp(1 - ncc, 0, 2);
        }

        /// <summary>The depth frame: each pixel's plane depth where its cost and texture pass, confidence 1 - cost / 2.</summary>
        public DepthFrame Result()
        {
            var pixels = _width * _height;
            var minVariance = (float)(_settings.MinTextureStd * _settings.MinTextureStd);
            var depth = new float[pixels];
            var confidence = new float[pixels];
            for (var p = 0; p < pixels; p++)
            {
                if (!(_cost[p] <= _settings.MaxMatchingCost) || !(_variance[p] > minVariance)) continue;
                depth[p] = _depth[p];
                confidence[p] = 1 - _cost[p] / 2;
            }

            return new DepthFrame(_width, _height, depth, confidence, _reference.RgbBytes(), _reference.K, _reference.CameraToWorld);
        }
    }

    /// <summary>A small counter-based random stream (SplitMix64 over seed, iteration and pixel), so every pixel's draws
    /// are the same whichever thread makes them.</summary>
    private struct PixelRandom(int seed, int iteration, int pixel)
    {
        private ulong _state = ((ulong)(uint)seed << 40) ^ ((ulong)(uint)iteration << 32) ^ (uint)pixel;

        private ulong Next()
        {
            var z = _state += 0x9E3779B97F4A7C15UL;
            z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
            z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
            return z ^ (z >> 31);
        }

        /// <summary>Uniform in [0, 1).</summary>
        public float NextFloat() => (Next() >> 40) * (1f / (1 << 24));

        /// <summary>Standard normal (Box-Muller).</summary>
        public float NextGaussian()
        {
            var u = Math.Max(NextFloat(), 1e-7f);
            return MathF.Sqrt(-2 * MathF.Log(u)) * MathF.Cos(2 * MathF.PI * NextFloat());
        }
    }
}
