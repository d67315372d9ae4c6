using Concerto.Ingest.Core.Geometry;
using Concerto.Ingest.Reconstruction.Fusion;

namespace Concerto.Ingest.Reconstruction.Classic.Stereo;

/// <summary>Fronto-parallel plane-sweep multi-view stereo on the CPU in plain .NET (no native tensor library, so the
/// ingest worker carries no libtorch): for each depth hypothesis (uniform in inverse depth) every neighbour's grey image
/// is warped into the reference view (back-project each reference pixel at that depth, move it into the neighbour's
/// camera, project, sample bilinearly with zeros outside); the matching cost is 1 - ZNCC over a square window (box
/// filters), aggregated over neighbours as the mean of the best K; the winner takes all, refined by a parabola through
/// the cost curve; confidence is the softmax mass of the cost curve around the winner. Works at a reduced resolution
/// and returns the depth frame at that resolution with matching intrinsics. Hypotheses are swept in parallel, a chunk
/// of them per thread.</summary>
public static class PlaneSweepStereo
{
    private const float InvalidCost = 2f;

    public static DepthFrame Estimate(StereoView reference, IReadOnlyList<StereoView> neighbours, (float Near, float Far) depthRange,
        PlaneSweepSettings settings, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(settings);
        settings.Validate();
        StereoPlanning.CheckInputs(reference, neighbours, depthRange, "plane sweep");
        var (near, far) = depthRange;

        var working = WorkingImage.Of(reference, settings.MaxSide);
        var (width, height) = (working.Width, working.Height);
        var pixels = width * height;
        var d = settings.Depths;
        var inverseDepths = InverseDepths(near, far, d);
        var window = WindowStats.Of(working, settings.Window);
        var cost = AggregatedCost(working, window, Prepare(neighbours, settings.MaxSide), inverseDepths, settings, cancellationToken);   // [D, h, w]

        var minVariance = (float)(settings.MinTextureStd * settings.MinTextureStd);
        var (inverseFar, inverseNear) = (inverseDepths[0], inverseDepths[d - 1]);
        var depth = new float[pixels];
        var confidence = new float[pixels];
        Parallel.For(0, height, y =>
        {
            for (var p = y * width; p < (y + 1) * width; p++)
            {
                var index = 0;
                var best = cost[p];
                for (var k = 1; k < d; k++)
                    if (cost[k * pixels + p] < best) (best, index) = (cost[k * pixels + p], k);
                if (!(best <= settings.MaxMatchingCost) || !(window.Variance[p] > minVariance)) continue;
                var lower = cost[Math.Max(index - 1, 0) * pixels + p];
                var upper = cost[Math.Min(index + 1, d - 1) * pixels + p];
                var curvature = lower + upper - 2 * best;
                var offset = index > 0 && index < d - 1 && curvature > 1e-6f ? Math.Clamp(0.5f * (lower - upper) / curvature, -0.5f, 0.5f) : 0f;
                var inverse = inverseFar + (inverseNear - inverseFar) * (index + offset) / (d - 1);
                depth[p] = 1 / inverse;
                // Confidence: softmax mass within one hypothesis of the winner (a sharp, unique minimum scores near 1).
                double total = 0;
                for (var k = 0; k < d; k++) total += Math.Exp(-(cost[k * pixels + p] - best) / settings.Temperature);
                double mass = 1;   // the winner's own term: exp(0)
                if (index > 0) mass += Math.Exp(-(lower - best) / settings.Temperature);
                if (index < d - 1) mass += Math.Exp(-(upper - best) / settings.Temperature);
                confidence[p] = (float)Math.Clamp(mass / total, 0, 1);
            }
        });

        return new DepthFrame(width, height, depth, confidence, working.RgbBytes(), working.K, reference.CameraToWorld);
    }

    /// <summary>The aggregated matching cost of every reference pixel at each given depth, [depths.Length, h * w] row-major
    /// at the working resolution (tests and diagnostics).</summary>
    internal static float[] CostCurves(StereoView reference, IReadOnlyList<StereoView> neighbours, float[] depths, PlaneSweepSettings settings)
    {
        var working = WorkingImage.Of(reference, settings.MaxSide);
        return AggregatedCost(working, WindowStats.Of(working, settings.Window), Prepare(neighbours, settings.MaxSide),
            depths.Select(z => 1 / z).ToArray(), settings, CancellationToken.None);
    }

    /// <summary>The working size for an image: the longest side at most <paramref name="maxSide"/>, aspect kept.</summary>
    public static (int Width, int Height) WorkingSize(int width, int height, int maxSide)
    {
        var scale = Math.Min(1.0, (double)maxSide / Math.Max(width, height));
        return (Math.Max(1, (int)Math.Round(width * scale)), Math.Max(1, (int)Math.Round(height * scale)));
    }

    /// <summary>Inverse depths uniform between far (index 0) and near (the last index).</summary>
    private static float[] InverseDepths(float near, float far, int count)
    {
        var (first, last) = (1.0 / far, 1.0 / near);
        return Enumerable.Range(0, count).Select(i => (float)(first + (last - first) * i / (count - 1))).ToArray();
    }

    private static List<WorkingImage> Prepare(IReadOnlyList<StereoView> views, int maxSide)
    {
        var prepared = new List<WorkingImage>(views.Count);
        foreach (var view in views)
        {
            ArgumentNullException.ThrowIfNull(view);
            prepared.Add(WorkingImage.Of(view, maxSide));
        }

        return prepared;
    }

    private static float[] Square(float[] x) => x.Select(v => v * v).ToArray();

    /// <summary>The reference's grey mean and variance (clamped at 0) over each pixel's window: the ZNCC's reference side
    /// and the texture test.</summary>
    private sealed record WindowStats(float[] Mean, float[] Variance)
    {
        public static WindowStats Of(WorkingImage image, int window)
        {
            var pixels = image.Width * image.Height;
            var (mean, variance, scratch) = (new float[pixels], new float[pixels], new float[pixels]);
            Box(image.Gray, mean, image.Width, image.Height, window, scratch);
            Box(Square(image.Gray), variance, image.Width, image.Height, window, scratch);
            for (var p = 0; p < pixels; p++) variance[p] = Math.Max(variance[p] - mean[p] * mean[p], 0);
            return new WindowStats(mean, variance);
        }
    }

    /// <summary>Mean over a square window, same size out; borders average the pixels inside the image only.</summary>
    private static void Box(ReadOnlySpan<float> source, Span<float> result, int width, int height, int window, Span<float> scratch)
    {
        var r = window / 2;
        for (var y = 0; y < height; y++)
        {
            var row = source.Slice(y * width, width);
            for (var x = 0; x < width; x++)
            {
                float sum = 0;
                for (var k = Math.Max(0, x - r); k <= Math.Min(width - 1, x + r); k++) sum += row[k];
                scratch[y * width + x] = sum;
            }
        }

        for (var y = 0; y < height; y++)
        {
            var (top, bottom) = (Math.Max(0, y - r), Math.Min(height - 1, y + r));
            for (var x = 0; x < width; x++)
            {
                float sum = 0;
                for (var k = top; k <= bottom; k++) sum += scratch[k * width + x];
                var columns = Math.Min(width - 1, x + r) - Math.Max(0, x - r) + 1;
                result[y * width + x] = sum / (columns * (bottom - top + 1));
            }
        }
    }

    /// <summary>Per-thread scratch of the sweep.</summary>
    private sealed class SweepBuffers(int pixels, int neighbours)
    {
        public float[] Warped { get; } = new float[pixels];
        public float[] Inside { get; } = new float[pixels];
        public float[] Work { get; } = new float[pixels];
        public float[] MeanWarped { get; } = new float[pixels];
        public float[] MeanSquare { get; } = new float[pixels];
        public float[] MeanProduct { get; } = new float[pixels];
        public float[] MeanInside { get; } = new float[pixels];
        public float[] Scratch { get; } = new float[pixels];
        public float[][] Costs { get; } = Enumerable.Range(0, neighbours).Select(_ => new float[pixels]).ToArray();
    }

    /// <summary>A neighbour seen from the reference: its image, the reference rays rotated into it, the translation.</summary>
    private sealed record Warp(WorkingImage Image, float[] RotatedRays, float[] Translation);

    private static float[] AggregatedCost(WorkingImage reference, WindowStats referenceWindow, List<WorkingImage> neighbours, float[] inverseDepths,
        PlaneSweepSettings settings, CancellationToken cancellationToken)
    {
        var (width, height) = (reference.Width, reference.Height);
        var pixels = width * height;
        var window = settings.Window;
        var refGray = reference.Gray;
        var (meanRef, varRef) = (referenceWindow.Mean, referenceWindow.Variance);

        var k = reference.K;
        var warps = neighbours.Select(n =>
        {
            var (r, t) = Relative(reference.CameraToWorld, n.CameraToWorld);
            var rotated = new float[3 * pixels];
            for (var y = 0; y < height; y++)
            for (var x = 0; x < width; x++)
            {
                var (rx, ry) = ((x - (float)k.Cx) / (float)k.Fx, (y - (float)k.Cy) / (float)k.Fy);
                var p = 3 * (y * width + x);
                rotated[p] = r[0] * rx + r[1] * ry + r[2];
                rotated[p + 1] = r[3] * rx + r[4] * ry + r[5];
                rotated[p + 2] = r[6] * rx + r[7] * ry + r[8];
            }

            return new Warp(n, rotated, t);
        }).ToList();

        var count = inverseDepths.Length;
        var bestK = Math.Min(settings.BestK, warps.Count);
        var cost = new float[count * pixels];
        var chunks = (count + settings.DepthChunk - 1) / settings.DepthChunk;
        var options = new ParallelOptions { CancellationToken = cancellationToken };
        Parallel.For(0, chunks, options, () => new SweepBuffers(pixels, warps.Count), (chunk, _, buffers) =>
        {
            Span<float> ranked = stackalloc float[warps.Count];
            for (var index = chunk * settings.DepthChunk; index < Math.Min(count, (chunk + 1) * settings.DepthChunk); index++)
            {
                var depth = 1 / inverseDepths[index];
                for (var n = 0; n < warps.Count; n++)
                {
                    cancellationToken.ThrowIfCancellationRequested();
                    NeighbourCost(warps[n], depth, refGray, meanRef, varRef, width, height, window, buffers, buffers.Costs[n]);
                }

                // Mean of the K lowest neighbour costs per pixel (occlusion-robust).
                var slice = cost.AsSpan(index * pixels, pixels);
                for (var p = 0; p < pixels; p++)
                {
                    for (var n = 0; n < warps.Count; n++) ranked[n] = buffers.Costs[n][p];
                    if (bestK < warps.Count) ranked.Sort();
                    float sum = 0;
                    for (var n = 0; n < bestK; n++) sum += ranked[n];
                    slice[p] = sum / bestK;
                }
            }

            return buffers;
        }, _ => { });
        return cost;
    }

    /// <summary>One neighbour's matching cost (1 - ZNCC, clamped to [0, 2]) of every reference pixel at one depth; a
    /// window that is partly outside the neighbour's image is no match (<see cref="InvalidCost"/>).</summary>
    private static void NeighbourCost(Warp warp, float depth, float[] refGray, float[] meanRef, float[] varRef, int width, int height, int window,
        SweepBuffers b, float[] result)
    {
        var image = warp.Image;
        var (kn, gray, w, h) = (image.K, image.Gray, image.Width, image.Height);
        var (fx, fy, cx, cy) = ((float)kn.Fx, (float)kn.Fy, (float)kn.Cx, (float)kn.Cy);
        var rotated = warp.RotatedRays;
        var t = warp.Translation;
        var pixels = width * height;
        for (var p = 0; p < pixels; p++)
        {
            var z = depth * rotated[3 * p + 2] + t[2];
            if (!(z > 1e-6f))
            {
                b.Warped[p] = 0;
                b.Inside[p] = 0;
                continue;
            }

            var u = (depth * rotated[3 * p] + t[0]) / z * fx + cx;
            var v = (depth * rotated[3 * p + 1] + t[1]) / z * fy + cy;
            b.Inside[p] = u >= -0.5f && u <= w - 0.5f && v >= -0.5f && v <= h - 0.5f ? 1 : 0;
            b.Warped[p] = Bilinear(gray, w, h, u, v);
        }

        Box(b.Warped, b.MeanWarped, width, height, window, b.Scratch);
        for (var p = 0; p < pixels; p++) b.Work[p] = b.Warped[p] * b.Warped[p];
        Box(b.Work, b.MeanSquare, width, height, window, b.Scratch);
        for (var p = 0; p < pixels; p++) b.Work[p] = b.Warped[p] * refGray[p];
        Box(b.Work, b.MeanProduct, width, height, window, b.Scratch);
        Box(b.Inside, b.MeanInside, width, height, window, b.Scratch);
        for (var p = 0; p < pixels; p++)
        {
            if (b.MeanInside[p] < 0.999f)
            {
                result[p] = InvalidCost;
                continue;
            }

            var mean = b.MeanWarped[p];
            var variance = Math.Max(b.MeanSquare[p] - mean * mean, 0);
            var covariance = b.MeanProduct[p] - mean * meanRef[p];
            var zncc = covariance / MathF.Sqrt(varRef[p] * variance + 1e-10f);
            result[p] = Math.Clamp(1 - zncc, 0, 2);
        }
    }

    /// <summary>Bilinear sample at (u, v) (pixel centres at integers), corners outside the image counting as zero.</summary>
    private static float Bilinear(float[] image, int width, int height, float u, float v)
    {
        if (!(u > -1 && u < width && v > -1 && v < height)) return 0;
        var (x0, y0) = ((int)MathF.Floor(u), (int)MathF.Floor(v));
        var (ax, ay) = (u - x0, v - y0);
        float Pixel(int x, int y) => x >= 0 && x < width && y >= 0 && y < height ? image[y * width + x] : 0;
        return (1 - ay) * ((1 - ax) * Pixel(x0, y0) + ax * Pixel(x0 + 1, y0)) + ay * ((1 - ax) * Pixel(x0, y0 + 1) + ax * Pixel(x0 + 1, y0 + 1));
    }

    /// <summary>Rotation (row-major) and translation taking points from camera <paramref name="from"/> to camera
    /// <paramref name="to"/> (both camera-to-world).</summary>
    internal static (float[] R, float[] T) Relative(RigidTransform from, RigidTransform to)
    {
        var inverse = to.Inverse();
        var r = new float[9];
        for (var i = 0; i < 3; i++)
        for (var j = 0; j < 3; j++)
        {
            double sum = 0;
            for (var m = 0; m < 3; m++) sum += inverse.R[3 * i + m] * from.R[3 * m + j];
            r[3 * i + j] = (float)sum;
        }

        var t = inverse.Apply(from.T);
        return (r, [(float)t.X, (float)t.Y, (float)t.Z]);
    }
}
