using Concerto.Ingest.Core.Geometry;

namespace Concerto.Ingest.Reconstruction.Fusion;

/// <summary>One frame to fuse: z-depth (0 = invalid), optional confidence and RGB24 colour, all row-major
/// <see cref="Width"/> x <see cref="Height"/>, with intrinsics in the same pixel grid and a camera-to-world pose.
/// <para>With <see cref="WorldPoints"/> (x, y, z per pixel, world frame: a point-map head's output) fusion takes each valid
/// pixel's position from there instead of unprojecting its depth; depth still says which pixels are valid.</para></summary>
public sealed record DepthFrame
{
    public DepthFrame(int width, int height, float[] depth, float[]? confidence, byte[] rgb, PinholeIntrinsics intrinsics,
        RigidTransform cameraToWorld, float[]? worldPoints = null)
    {
        ArgumentNullException.ThrowIfNull(depth);
        ArgumentNullException.ThrowIfNull(rgb);
        ArgumentNullException.ThrowIfNull(intrinsics);
        ArgumentNullException.ThrowIfNull(cameraToWorld);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(width);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(height);
        var n = width * height;
        if (depth.Length != n) throw new ArgumentException($"depth has {depth.Length} values, expected {width}x{height} = {n}", nameof(depth));
        if (confidence is not null && confidence.Length != n)
            throw new ArgumentException($"confidence has {confidence.Length} values, expected {n}", nameof(confidence));
        if (rgb.Length != 3 * n) throw new ArgumentException($"rgb has {rgb.Length} bytes, expected 3 x {n}", nameof(rgb));
        if (intrinsics.Width != width || intrinsics.Height != height)
            throw new ArgumentException($"intrinsics are for {intrinsics.Width}x{intrinsics.Height}, the frame is {width}x{height}: " +
                "rescale them to the depth grid first", nameof(intrinsics));
        if (worldPoints is not null && worldPoints.Length != 3 * n)
            throw new ArgumentException($"world points have {worldPoints.Length} values, expected 3 x {n}", nameof(worldPoints));
        Width = width;
        Height = height;
        Depth = depth;
        Confidence = confidence;
        Rgb = rgb;
        Intrinsics = intrinsics;
        CameraToWorld = cameraToWorld;
        WorldPoints = worldPoints;
    }

    public int Width { get; }
    public int Height { get; }
    public float[] Depth { get; }
    public float[]? Confidence { get; }
    public byte[] Rgb { get; }
    public PinholeIntrinsics Intrinsics { get; }
    public RigidTransform CameraToWorld { get; }
    public float[]? WorldPoints { get; }

    /// <summary>The world position of pixel (u, v) = index i: its point-map entry, else its depth unprojected.</summary>
    public V3 WorldPoint(int u, int v, int i) => WorldPoints is { } p
        ? new V3(p[3 * i], p[3 * i + 1], p[3 * i + 2])
        : CameraToWorld.Apply(Intrinsics.Ray(u, v) * Depth[i]);

    /// <summary>A pixel takes part when its depth is finite and above 1e-8 (the VGGT validity rule).</summary>
    public static bool IsValidDepth(float d) => d > 1e-8f && float.IsFinite(d);
}
