using Concerto.Ingest.Core.Geometry;

namespace Concerto.Ingest.Reconstruction.Classic.Stereo;

/// <summary>How neighbours are picked for a keyframe.</summary>
/// <param name="Count">Neighbours wanted (the nearest in time that qualify, alternating before and after).</param>
/// <param name="MaxFrameGap">Only frames at most this many indices away.</param>
/// <param name="MinBaseline">Camera centres at least this far apart (scene units)...</param>
/// <param name="MaxBaseline">...and at most this far.</param>
/// <param name="MaxViewAngleDegrees">Viewing directions at most this far apart.</param>
public sealed record NeighbourSettings(int Count = 4, int MaxFrameGap = 60, double MinBaseline = 0.06, double MaxBaseline = 0.6,
    double MaxViewAngleDegrees = 30)
{
    public static NeighbourSettings Default { get; } = new();
}

/// <summary>Picks the views and depth range for a plane sweep.</summary>
public static class StereoPlanning
{
    /// <summary>Neighbour indices for frame <paramref name="reference"/> among <paramref name="cameraToWorld"/> (in time order).</summary>
    public static IReadOnlyList<int> SelectNeighbours(IReadOnlyList<RigidTransform> cameraToWorld, int reference, NeighbourSettings settings)
    {
        ArgumentNullException.ThrowIfNull(cameraToWorld);
        ArgumentNullException.ThrowIfNull(settings);
        ArgumentOutOfRangeException.ThrowIfNegative(reference);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(reference, cameraToWorld.Count);
        var pose = cameraToWorld[reference];
        var forward = new V3(pose.R[2], pose.R[5], pose.R[8]);
        var cosMax = Math.Cos(settings.MaxViewAngleDegrees * Math.PI / 180);
        bool Qualifies(int j)
        {
            var other = cameraToWorld[j];
            var baseline = (other.T - pose.T).Length;
            var cos = forward.Dot(new V3(other.R[2], other.R[5], other.R[8]));
            return baseline >= settings.MinBaseline && baseline <= settings.MaxBaseline && cos >= cosMax;
        }

        var before = new List<int>();
        var after = new List<int>();
        for (var gap = 1; gap <= settings.MaxFrameGap; gap++)
        {
            if (reference - gap >= 0 && Qualifies(reference - gap)) before.Add(reference - gap);
            if (reference + gap < cameraToWorld.Count && Qualifies(reference + gap)) after.Add(reference + gap);
        }

        // Alternate sides so the baselines point both ways (occlusions on one side are seen from the other).
        var chosen = new List<int>(settings.Count);
        for (var i = 0; chosen.Count < settings.Count && (i < before.Count || i < after.Count); i++)
        {
            if (i < before.Count) chosen.Add(before[i]);
            if (i < after.Count && chosen.Count < settings.Count) chosen.Add(after[i]);
        }

        return chosen;
    }

    /// <summary>Depth range of a view from sparse world points seen in it (low and high percentiles of their depths,
    /// widened by <paramref name="margin"/>); <paramref name="fallback"/> when fewer than <paramref name="minPoints"/> are seen.</summary>
    public static (float Near, float Far) DepthRange(PinholeIntrinsics intrinsics, RigidTransform cameraToWorld, IReadOnlyList<V3>? worldPoints,
        (float Near, float Far) fallback, double margin = 0.2, double lowPercentile = 0.02, double highPercentile = 0.98, int minPoints = 20)
    {
        ArgumentNullException.ThrowIfNull(intrinsics);
        ArgumentNullException.ThrowIfNull(cameraToWorld);
        if (worldPoints is null) return fallback;
        var worldToCamera = cameraToWorld.Inverse();
        var depths = new List<double>();
        foreach (var p in worldPoints)
        {
            var c = worldToCamera.Apply(p);
            if (c.Z <= 1e-6) continue;
            var (u, v) = intrinsics.Project(c);
            if (u >= -0.5 && v >= -0.5 && u <= intrinsics.Width - 0.5 && v <= intrinsics.Height - 0.5) depths.Add(c.Z);
        }

        if (depths.Count < minPoints) return fallback;
        depths.Sort();
        var low = depths[(int)Math.Floor(lowPercentile * (depths.Count - 1))];
        var high = depths[(int)Math.Ceiling(highPercentile * (depths.Count - 1))];
        return ((float)(low * (1 - margin)), (float)(high * (1 + margin)));
    }

    /// <summary>The checks both matchers make on their inputs: views given, at least one neighbour, and
    /// 0 &lt; near &lt; far &lt; infinity.</summary>
    internal static void CheckInputs(StereoView reference, IReadOnlyList<StereoView> neighbours, (float Near, float Far) depthRange, string matcher)
    {
        ArgumentNullException.ThrowIfNull(reference);
        ArgumentNullException.ThrowIfNull(neighbours);
        if (neighbours.Count == 0) throw new ArgumentException($"{matcher} needs at least one neighbour view", nameof(neighbours));
        var (near, far) = depthRange;
        if (!(near > 0) || !(far > near) || !float.IsFinite(far))
            throw new ArgumentOutOfRangeException(nameof(depthRange), depthRange, "the depth range must satisfy 0 < near < far < infinity");
    }
}
