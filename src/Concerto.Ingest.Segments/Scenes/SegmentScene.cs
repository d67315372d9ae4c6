using Concerto.Ingest.Core.Geometry;
using Concerto.Ingest.Formats.PointClouds;

namespace Concerto.Ingest.Segments.Scenes;

/// <summary>A reconstructed scene cloud in the scene frame (z up): coord (N x 3), color (N x 3 uint8), normal (N x 3), and
/// per-point semantic and instance labels when the source has them.</summary>
public sealed record SceneCloud
{
    public SceneCloud(float[] coord, byte[] color, float[] normal, int[]? segment = null, int[]? instance = null)
    {
        ArgumentNullException.ThrowIfNull(coord);
        ArgumentNullException.ThrowIfNull(color);
        ArgumentNullException.ThrowIfNull(normal);
        if (coord.Length % 3 != 0) throw new ArgumentException($"coord has {coord.Length} values, not a multiple of 3", nameof(coord));
        var n = coord.Length / 3;
        if (color.Length != 3 * n || normal.Length != 3 * n)
            throw new ArgumentException($"color ({color.Length}) and normal ({normal.Length}) must have 3 x {n} values");
        if (segment is not null && segment.Length != n) throw new ArgumentException($"segment has {segment.Length} labels, expected {n}", nameof(segment));
        if (instance is not null && instance.Length != n) throw new ArgumentException($"instance has {instance.Length} labels, expected {n}", nameof(instance));
        (Coord, Color, Normal, Segment, Instance) = (coord, color, normal, segment, instance);
    }

    public float[] Coord { get; }
    public byte[] Color { get; }
    public float[] Normal { get; }
    public int[]? Segment { get; }
    public int[]? Instance { get; }
    public int Count => Coord.Length / 3;

    /// <summary>The cloud as its files hold it (<see cref="PointCloudFiles"/>).</summary>
    public PointCloudArrays Arrays => new(Coord, Color, Normal, Segment, Instance);

    public V3 Point(int i) => new(Coord[3 * i], Coord[3 * i + 1], Coord[3 * i + 2]);
}

/// <summary>A keyframe as the segment stage sees it: camera-to-world in the scene frame (OpenCV axes) and intrinsics in
/// the keyframe image's own pixels.</summary>
public sealed record SceneView(int FrameIndex, double Time, RigidTransform CameraToWorld, PinholeIntrinsics Intrinsics, string ImagePath)
{
    public V3 Centre => CameraToWorld.T;
}
