using Concerto.Ingest.Core.Geometry;
using Concerto.Ingest.Core.Runtime;
using Concerto.Ingest.Reconstruction.Fusion;
using TorchSharp;
using static TorchSharp.torch;

namespace Concerto.Ingest.Reconstruction.Classic.Stereo;

/// <summary>Fronto-parallel plane-sweep multi-view stereo on the CPU with TorchSharp: for each depth hypothesis (uniform
/// in inverse depth) every neighbour's grey image is warped into the reference view (back-project each reference pixel
/// at that depth, move it into the neighbour's camera, project, bilinear <c>grid_sample</c>); the matching cost is
/// 1 - ZNCC over a square window (box filters), aggregated over neighbours as the mean of the best K; the winner takes
/// all, refined by a parabola through the cost curve; confidence is the softmax mass of the cost curve around the
/// winner. Works at a reduced resolution and returns the depth frame at that resolution with matching intrinsics.</summary>
public static class PlaneSweepStereo
{
    private const float InvalidCost = 2f;

    public static DepthFrame Estimate(StereoView reference, IReadOnlyList<StereoView> neighbours, (float Near, float Far) depthRange,
        PlaneSweepSettings settings, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(reference);
        ArgumentNullException.ThrowIfNull(neighbours);
        ArgumentNullException.ThrowIfNull(settings);
        settings.Validate();
        if (neighbours.Count == 0) throw new ArgumentException("plane sweep needs at least one neighbour view", nameof(neighbours));
        var (near, far) = depthRange;
        if (!(near > 0) || !(far > near) || !float.IsFinite(far))
            throw new ArgumentOutOfRangeException(nameof(depthRange), depthRange, "the depth range must satisfy 0 < near < far < infinity");

        try
        {
            return EstimateInScope(reference, neighbours, (near, far), settings, cancellationToken);
        }
        finally
        {
            NativeHeap.Trim();   // the sweep's freed slices back to the system (see NativeHeap)
        }
    }

    private static DepthFrame EstimateInScope(StereoView reference, IReadOnlyList<StereoView> neighbours, (float Near, float Far) depthRange,
        PlaneSweepSettings settings, CancellationToken cancellationToken)
    {
        var (near, far) = depthRange;
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var (refRgb, refK) = Working(reference, settings.MaxSide);
        var (height, width) = ((int)refRgb.shape[2], (int)refRgb.shape[3]);
        var refGray = Gray(refRgb);
        var inverseDepths = InverseDepths(near, far, settings.Depths);
        var cost = AggregatedCost(refGray, refK, reference.CameraToWorld, Prepare(neighbours, settings.MaxSide), inverseDepths, settings,
            cancellationToken);   // [D, h, w]

        var d = settings.Depths;
        var (best, index) = cost.min(0, keepdim: true);     // [1, h, w]
        var lower = cost.gather(0, (index - 1).clamp(0, d - 1));
        var upper = cost.gather(0, (index + 1).clamp(0, d - 1));
        var curvature = lower + upper - 2 * best;
        var interior = index.gt(0).logical_and(index.lt(d - 1)).logical_and(curvature.gt(1e-6));
        var offset = where(interior, (0.5 * (lower - upper) / curvature.clamp_min(1e-6)).clamp(-0.5, 0.5), zeros_like(best));
        var position = index.to_type(ScalarType.Float32) + offset;
        var inverse = inverseDepths[0] + (inverseDepths[d - 1] - inverseDepths[0]) * position / (d - 1);
        var depth = 1 / inverse;

        // Confidence: softmax mass within one hypothesis of the winner (a sharp, unique minimum scores near 1).
        var probabilities = (-cost / settings.Temperature).softmax(0);
        var mass = probabilities.gather(0, index) + probabilities.gather(0, (index - 1).clamp(0, d - 1)) * index.gt(0)
            + probabilities.gather(0, (index + 1).clamp(0, d - 1)) * index.lt(d - 1);
        var textured = Box(refGray.square(), settings.Window) - Box(refGray, settings.Window).square();
        var usable = best.le(settings.MaxMatchingCost)
            .logical_and(textured.squeeze(0).gt(settings.MinTextureStd * settings.MinTextureStd));
        depth = where(usable, depth, zeros_like(depth));
        var confidence = where(usable, mass.clamp(0, 1), zeros_like(mass));

        var rgbBytes = refRgb.squeeze(0).permute(1, 2, 0).round().clamp(0, 255).to_type(ScalarType.Byte).contiguous();
        return new DepthFrame(width, height, depth.reshape(-1).contiguous().data<float>().ToArray(),
            confidence.reshape(-1).contiguous().data<float>().ToArray(), rgbBytes.data<byte>().ToArray(), refK, reference.CameraToWorld);
    }

    /// <summary>The aggregated matching cost of every reference pixel at each given depth, [depths.Length, h * w] row-major
    /// at the working resolution (tests and diagnostics).</summary>
    internal static float[] CostCurves(StereoView reference, IReadOnlyList<StereoView> neighbours, float[] depths, PlaneSweepSettings settings)
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var (refRgb, refK) = Working(reference, settings.MaxSide);
        var inverseDepths = 1 / tensor(depths);
        var cost = AggregatedCost(Gray(refRgb), refK, reference.CameraToWorld, Prepare(neighbours, settings.MaxSide), inverseDepths, settings,
            CancellationToken.None);
        return cost.reshape(-1).contiguous().data<float>().ToArray();
    }

    /// <summary>The working size for an image: the longest side at most <paramref name="maxSide"/>, aspect kept.</summary>
    public static (int Width, int Height) WorkingSize(int width, int height, int maxSide)
    {
        var scale = Math.Min(1.0, (double)maxSide / Math.Max(width, height));
        return (Math.Max(1, (int)Math.Round(width * scale)), Math.Max(1, (int)Math.Round(height * scale)));
    }

    private static Tensor InverseDepths(float near, float far, int count)
    {
        // Index 0 is the far plane, the last index the near one.
        return linspace(1.0 / far, 1.0 / near, count, dtype: ScalarType.Float32);
    }

    private static List<(Tensor Gray, PinholeIntrinsics K, RigidTransform CameraToWorld)> Prepare(IReadOnlyList<StereoView> views, int maxSide)
    {
        var prepared = new List<(Tensor, PinholeIntrinsics, RigidTransform)>(views.Count);
        foreach (var view in views)
        {
            ArgumentNullException.ThrowIfNull(view);
            var (rgb, k) = Working(view, maxSide);
            prepared.Add((Gray(rgb), k, view.CameraToWorld));
        }

        return prepared;
    }

    /// <summary>The view's RGB as a float [1, 3, h, w] tensor (0-255) at the working resolution, and its intrinsics there.</summary>
    private static (Tensor Rgb, PinholeIntrinsics K) Working(StereoView view, int maxSide)
    {
        var (w, h) = WorkingSize(view.Width, view.Height, maxSide);
        var rgb = tensor(view.Rgb).reshape(view.Height, view.Width, 3).permute(2, 0, 1).unsqueeze(0).to_type(ScalarType.Float32);
        if (w != view.Width || h != view.Height)
            rgb = nn.functional.interpolate(rgb, size: [h, w], mode: InterpolationMode.Area);
        return (rgb, view.Intrinsics.ScaledTo(w, h));
    }

    private static Tensor Gray(Tensor rgb) =>
        (rgb[.., 0..1] * (0.299 / 255) + rgb[.., 1..2] * (0.587 / 255) + rgb[.., 2..3] * (0.114 / 255)).contiguous();

    /// <summary>Mean over a square window, same size out (borders average the pixels inside the image only).</summary>
    private static Tensor Box(Tensor x, int window) =>
        nn.functional.avg_pool2d(x, window, stride: 1, padding: window / 2, count_include_pad: false);

    private static Tensor AggregatedCost(Tensor refGray, PinholeIntrinsics refK, RigidTransform refToWorld,
        List<(Tensor Gray, PinholeIntrinsics K, RigidTransform CameraToWorld)> neighbours, Tensor inverseDepths, PlaneSweepSettings settings,
        CancellationToken cancellationToken)
    {
        var (height, width) = (refGray.shape[2], refGray.shape[3]);
        var window = settings.Window;
        var meanRef = Box(refGray, window);
        var varRef = (Box(refGray.square(), window) - meanRef.square()).clamp_min(0);
        var rays = Rays(refK);   // [3, P]
        var depths = 1 / inverseDepths;
        var count = (int)depths.shape[0];

        // Depth chunk by depth chunk, every neighbour's cost, reduced to the best-K mean at once: only [D, h, w] is kept,
        // never the [neighbours, D, h, w] volume (and its sort), which made the peak memory grow with the neighbours.
        var bestK = Math.Min(settings.BestK, neighbours.Count);
        var relative = neighbours.Select(n =>
        {
            var (r, t) = Relative(refToWorld, n.CameraToWorld);
            return (n.Gray, n.K, Rotated: tensor(r).reshape(3, 3).matmul(rays), Translation: tensor(t).reshape(1, 3, 1));
        }).ToList();
        var chunks = new List<Tensor>();
        for (var start = 0; start < count; start += settings.DepthChunk)
        {
            // Each chunk's neighbour costs are freed before the next chunk.
            using var chunkScope = NewDisposeScope();
            var length = Math.Min(settings.DepthChunk, count - start);
            var d = depths.narrow(0, start, length).reshape(length, 1, 1);
            var costs = new List<Tensor>(relative.Count);
            foreach (var (gray, k, rotated, translation) in relative)
            {
                cancellationToken.ThrowIfCancellationRequested();
                // One neighbour's temporaries at a time: only its [chunk, h, w] cost outlives this scope.
                using var neighbourScope = NewDisposeScope();
                var camera = d * rotated.unsqueeze(0) + translation;                   // [Dc, 3, P]
                var z = camera[.., 2];
                var front = z.gt(1e-6);
                var safeZ = where(front, z, ones_like(z));
                var u = camera[.., 0] / safeZ * k.Fx + k.Cx;
                var v = camera[.., 1] / safeZ * k.Fy + k.Cy;
                var gx = where(front, (u + 0.5) * (2.0 / k.Width) - 1, full_like(u, -4));
                var gy = where(front, (v + 0.5) * (2.0 / k.Height) - 1, full_like(v, -4));
                var grid = stack([gx, gy], -1).reshape(length, height, width, 2);
                var warped = nn.functional.grid_sample(gray.expand(length, -1, -1, -1), grid, GridSampleMode.Bilinear,
                    GridSamplePaddingMode.Zeros, align_corners: false);                 // [Dc, 1, h, w]
                var inside = gx.abs().le(1).logical_and(gy.abs().le(1)).to_type(ScalarType.Float32).reshape(length, 1, height, width);
                var meanWarped = Box(warped, window);
                var varWarped = (Box(warped.square(), window) - meanWarped.square()).clamp_min(0);
                var covariance = Box(warped * refGray, window) - meanWarped * meanRef;
                var zncc = covariance / (varRef * varWarped + 1e-10).sqrt();
                var cost = (1 - zncc).clamp(0, 2);
                // A window partly outside the neighbour's image is not a match.
                costs.Add(where(Box(inside, window).ge(0.999), cost, full_like(cost, InvalidCost)).squeeze(1)   // [Dc, h, w]
                    .MoveToOuterDisposeScope());
            }

            var all = stack(costs, 0);                                                  // [N, Dc, h, w]
            var reduced = bestK == relative.Count ? all.mean([0]) : all.sort(0).Values.narrow(0, 0, bestK).mean([0]);
            chunks.Add(reduced.MoveToOuterDisposeScope());
        }

        return cat(chunks, 0);                                                          // [D, h, w]
    }

    /// <summary>Camera rays (z = 1) through every pixel centre, [3, h * w] row-major.</summary>
    internal static Tensor Rays(PinholeIntrinsics k)
    {
        var u = (arange(k.Width, dtype: ScalarType.Float32) - (float)k.Cx) / (float)k.Fx;
        var v = (arange(k.Height, dtype: ScalarType.Float32) - (float)k.Cy) / (float)k.Fy;
        var x = u.unsqueeze(0).expand(k.Height, k.Width).reshape(-1);
        var y = v.unsqueeze(1).expand(k.Height, k.Width).reshape(-1);
        return stack([x, y, ones_like(x)], 0);
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
