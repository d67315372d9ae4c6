using Concerto.Ingest.Reconstruction.Fusion;
using TorchSharp;
using static TorchSharp.torch;

namespace Concerto.Ingest.Reconstruction.Classic.Stereo;

/// <summary>Settings of the multi-view geometric consistency check.</summary>
/// <param name="MaxPixelError">A neighbour agrees when the round trip (project into it, take its depth there,
/// back-project, project back) lands within this many working pixels...</param>
/// <param name="MaxRelativeDepthError">...and the round-trip depth differs by at most this fraction.</param>
/// <param name="MinConsistentViews">Pixels with fewer agreeing neighbours lose their depth.</param>
public sealed record ConsistencySettings(double MaxPixelError = 1.5, double MaxRelativeDepthError = 0.03, int MinConsistentViews = 1)
{
    public static ConsistencySettings Default { get; } = new();
}

/// <summary>Checks estimated depth maps against each other: a pixel keeps its depth when enough neighbours' depth maps
/// agree with it, and its confidence is scaled by the fraction of neighbours that agree.</summary>
public static class GeometricConsistency
{
    /// <param name="frames">Depth frames (e.g. from <see cref="PlaneSweepStereo"/>).</param>
    /// <param name="neighbours">For each frame, the indices into <paramref name="frames"/> to check it against.</param>
    public static IReadOnlyList<DepthFrame> Apply(IReadOnlyList<DepthFrame> frames, IReadOnlyList<IReadOnlyList<int>> neighbours,
        ConsistencySettings settings, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(frames);
        ArgumentNullException.ThrowIfNull(neighbours);
        ArgumentNullException.ThrowIfNull(settings);
        if (neighbours.Count != frames.Count)
            throw new ArgumentException($"{neighbours.Count} neighbour lists for {frames.Count} frames", nameof(neighbours));
        var result = new DepthFrame[frames.Count];
        for (var i = 0; i < frames.Count; i++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            result[i] = Check(frames[i], neighbours[i].Select(j => frames[j]).ToList(), settings);
        }

        return result;
    }

    /// <summary>One frame checked against its neighbours' depth frames.</summary>
    public static DepthFrame Check(DepthFrame frame, IReadOnlyList<DepthFrame> others, ConsistencySettings settings)
    {
        ArgumentNullException.ThrowIfNull(frame);
        ArgumentNullException.ThrowIfNull(others);
        ArgumentNullException.ThrowIfNull(settings);
        if (others.Count == 0) return frame;
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var k = frame.Intrinsics;
        var depth = tensor(frame.Depth);                                   // [P]
        var valid = depth.gt(1e-8f);
        var rays = PlaneSweepStereo.Rays(k);                               // [3, P]
        var points = rays * depth.unsqueeze(0);
        var agreeing = zeros_like(depth);
        foreach (var other in others)
        {
            var ko = other.Intrinsics;
            var (r, t) = PlaneSweepStereo.Relative(frame.CameraToWorld, other.CameraToWorld);
            var camera = tensor(r).reshape(3, 3).matmul(points) + tensor(t).reshape(3, 1);
            var z = camera[2];
            var front = z.gt(1e-6);
            var safeZ = where(front, z, ones_like(z));
            var u = camera[0] / safeZ * ko.Fx + ko.Cx;
            var v = camera[1] / safeZ * ko.Fy + ko.Cy;
            var gx = where(front, (u + 0.5) * (2.0 / ko.Width) - 1, full_like(u, -4));
            var gy = where(front, (v + 0.5) * (2.0 / ko.Height) - 1, full_like(v, -4));
            var otherDepth = tensor(other.Depth).reshape(1, 1, ko.Height, ko.Width);
            var sampled = nn.functional.grid_sample(otherDepth, stack([gx, gy], -1).reshape(1, 1, -1, 2), GridSampleMode.Nearest,
                GridSamplePaddingMode.Zeros, align_corners: false).reshape(-1);
            // Back-project the neighbour's depth at the projected location and bring it back into this camera.
            var back = stack([(u - ko.Cx) / ko.Fx * sampled, (v - ko.Cy) / ko.Fy * sampled, sampled], 0);
            var (rb, tb) = PlaneSweepStereo.Relative(other.CameraToWorld, frame.CameraToWorld);
            var returned = tensor(rb).reshape(3, 3).matmul(back) + tensor(tb).reshape(3, 1);
            var zr = returned[2];
            var safeZr = where(zr.gt(1e-6), zr, ones_like(zr));
            var du = returned[0] / safeZr * k.Fx + k.Cx - (rays[0] * k.Fx + k.Cx);
            var dv = returned[1] / safeZr * k.Fy + k.Cy - (rays[1] * k.Fy + k.Cy);
            var pixelError = (du.square() + dv.square()).sqrt();
            var depthError = (zr - depth).abs() / depth.clamp_min(1e-8f);
            var agrees = valid.logical_and(front).logical_and(sampled.gt(1e-8f)).logical_and(zr.gt(1e-6))
                .logical_and(pixelError.le(settings.MaxPixelError)).logical_and(depthError.le(settings.MaxRelativeDepthError));
            agreeing += agrees.to_type(ScalarType.Float32);
        }

        var keep = agreeing.ge(settings.MinConsistentViews).logical_and(valid);
        var fraction = agreeing / others.Count;
        var confidence = frame.Confidence is null ? fraction : tensor(frame.Confidence) * fraction;
        var newDepth = where(keep, depth, zeros_like(depth)).data<float>().ToArray();
        var newConfidence = where(keep, confidence, zeros_like(confidence)).contiguous().data<float>().ToArray();
        return new DepthFrame(frame.Width, frame.Height, newDepth, newConfidence, frame.Rgb, frame.Intrinsics, frame.CameraToWorld);
    }
}
