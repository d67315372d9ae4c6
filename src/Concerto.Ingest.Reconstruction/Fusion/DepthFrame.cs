using Concerto.Ingest.Core.Geometry;

namespace Concerto.Ingest.Reconstruction.Fusion;

/// <summary>One frame to fuse: z-depth (0 = invalid), optional confidence and RGB24 colour, all row-major
/// <see cref="Width"/> x <see cref="Height"/>, with intrinsics in the same pixel grid and a camera-to-world pose.</summary>
public sealed record DepthFrame
{
    public DepthFrame(int width, int height, float[] depth, float[]? confidence, byte[] rgb, PinholeIntrinsics intrinsics,
        RigidTransform cameraToWorld)
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
        Width = width;
        Height = height;
        Depth = depth;
        Confidence = confidence;
        Rgb = rgb;
        Intrinsics = intrinsics;
        CameraToWorld = cameraToWorld;
    }

    public int Width { get; }
    public int Height { get; }
    public float[] Depth { get; }
    public float[]? Confidence { get; }
    public byte[] Rgb { get; }
    public PinholeIntrinsics Intrinsics { get; }
    public RigidTransform CameraToWorld { get; }

    /// <summary>A pixel takes part when its depth is finite and above 1e-8 (the VGGT validity rule).</summary>
    public static bool IsValidDepth(float d) => d > 1e-8f && float.IsFinite(d);
}
