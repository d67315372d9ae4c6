using Concerto.Ingest.Core.Geometry;

namespace Concerto.Ingest.Reconstruction.Classic.Stereo;

/// <summary>One posed image for multi-view stereo: RGB24 pixels (row-major, <see cref="Width"/> x <see cref="Height"/>),
/// intrinsics in that pixel grid and the camera-to-world pose (OpenCV axes).</summary>
public sealed record StereoView
{
    public StereoView(int width, int height, byte[] rgb, PinholeIntrinsics intrinsics, RigidTransform cameraToWorld)
    {
        ArgumentNullException.ThrowIfNull(rgb);
        ArgumentNullException.ThrowIfNull(intrinsics);
        ArgumentNullException.ThrowIfNull(cameraToWorld);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(width);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(height);
        if (rgb.Length != 3 * width * height)
            throw new ArgumentException($"rgb has {rgb.Length} bytes, expected 3 x {width}x{height}", nameof(rgb));
        if (intrinsics.Width != width || intrinsics.Height != height)
            throw new ArgumentException($"intrinsics are for {intrinsics.Width}x{intrinsics.Height}, the image is {width}x{height}: " +
                "rescale them to the image first", nameof(intrinsics));
        Width = width;
        Height = height;
        Rgb = rgb;
        Intrinsics = intrinsics;
        CameraToWorld = cameraToWorld;
    }

    public int Width { get; }
    public int Height { get; }
    public byte[] Rgb { get; }
    public PinholeIntrinsics Intrinsics { get; }
    public RigidTransform CameraToWorld { get; }
}
