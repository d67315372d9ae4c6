using Concerto.Ingest.Reconstruction.Fusion;

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
        var k = frame.Intrinsics;
        var (width, height) = (k.Width, k.Height);
        var depth = frame.Depth;
        var agreeing = new int[width * height];
        foreach (var other in others)
        {
            var ko = other.Intrinsics;
            var (r, t) = PlaneSweepStereo.Relative(frame.CameraToWorld, other.CameraToWorld);
            var (rb, tb) = PlaneSweepStereo.Relative(other.CameraToWorld, frame.CameraToWorld);
            var otherDepth = other.Depth;
            Parallel.For(0, height, y =>
            {
                var ry = (y - k.Cy) / k.Fy;
                for (var x = 0; x < width; x++)
                {
                    var p = y * width + x;
                    var d = depth[p];
                    if (!(d > 1e-8f)) continue;
                    // Into the neighbour: its depth at the nearest pixel (none outside its image or behind it)...
                    var rx = (x - k.Cx) / k.Fx;
                    var (cx, cy, cz) = Transform(r, t, rx * d, ry * d, d);
                    if (!(cz > 1e-6)) continue;
                    var u = cx / cz * ko.Fx + ko.Cx;
                    var v = cy / cz * ko.Fy + ko.Cy;
                    var (iu, iv) = (Math.Round(u), Math.Round(v));
                    if (!(iu >= 0 && iu < ko.Width && iv >= 0 && iv < ko.Height)) continue;
                    double sampled = otherDepth[(int)iv * ko.Width + (int)iu];
                    if (!(sampled > 1e-8f)) continue;
                    // ...back-projected there and brought back into this camera: agrees when it lands near this pixel at
                    // nearly this depth.
                    var (bx, by, bz) = Transform(rb, tb, (u - ko.Cx) / ko.Fx * sampled, (v - ko.Cy) / ko.Fy * sampled, sampled);
                    if (!(bz > 1e-6)) continue;
                    var du = bx / bz * k.Fx + k.Cx - x;
                    var dv = by / bz * k.Fy + k.Cy - y;
                    if (Math.Sqrt(du * du + dv * dv) <= settings.MaxPixelError && Math.Abs(bz - d) / d <= settings.MaxRelativeDepthError)
                        agreeing[p]++;
                }
            });
        }

        var newDepth = new float[depth.Length];
        var newConfidence = new float[depth.Length];
        for (var p = 0; p < depth.Length; p++)
        {
            if (agreeing[p] < settings.MinConsistentViews || !(depth[p] > 1e-8f)) continue;
            var fraction = (float)agreeing[p] / others.Count;
            newDepth[p] = depth[p];
            newConfidence[p] = frame.Confidence is null ? fraction : frame.Confidence[p] * fraction;
        }

        return new DepthFrame(frame.Width, frame.Height, newDepth, newConfidence, frame.Rgb, frame.Intrinsics, frame.CameraToWorld);
    }

    private static (double X, double Y, double Z) Transform(float[] r, float[] t, double x, double y, double z) =>
        (r[0] * x + r[1] * y + r[2] * z + t[0], r[3] * x + r[4] * y + r[5] * z + t[1], r[6] * x + r[7] * y + r[8] * z + t[2]);
}
