using Concerto.Ingest.Core.Geometry;
using Concerto.Ingest.Synthetic.Scenes;

namespace Concerto.Ingest.Synthetic.Rendering;

/// <summary>One rendered frame: rgb24 pixels, metric z-depth, semantic class and instance id per pixel (row-major).</summary>
public sealed class RenderedFrame(int width, int height)
{
    public int Width { get; } = width;
    public int Height { get; } = height;
    public byte[] Rgb { get; } = new byte[width * height * 3];

    /// <summary>Depth along the camera's z axis in metres (0 where nothing was hit).</summary>
    public float[] Depth { get; } = new float[width * height];

    public byte[] Semantic { get; } = new byte[width * height];
    public ushort[] Instance { get; } = new ushort[width * height];
}

/// <summary>Ray casts a scene: one ray through the centre of each pixel, rows spread over all cores. Every pixel is
/// computed independently, so the output does not depend on thread scheduling.</summary>
public sealed class FrameRenderer(Scene scene, PinholeIntrinsics intrinsics)
{
    public void Render(RigidTransform cameraToWorld, RenderedFrame frame)
    {
        ArgumentNullException.ThrowIfNull(cameraToWorld);
        ArgumentNullException.ThrowIfNull(frame);
        var origin = cameraToWorld.T;
        Parallel.For(0, intrinsics.Height, v =>
        {
            for (var u = 0; u < intrinsics.Width; u++)
            {
                var i = v * intrinsics.Width + u;
                // The camera ray has z = 1, so the hit's ray parameter is its z-depth.
                var direction = cameraToWorld.Rotate(intrinsics.Ray(u, v));
                if (!scene.Trace(origin, direction, out var hit))
                {
                    frame.Depth[i] = 0;
                    frame.Semantic[i] = byte.MaxValue;
                    frame.Instance[i] = 0;
                    frame.Rgb[3 * i] = frame.Rgb[3 * i + 1] = frame.Rgb[3 * i + 2] = 0;
                    continue;
                }

                var point = origin + direction * hit.T;
                var color = scene.Shade(hit.Part, point, hit.Normal);
                frame.Depth[i] = (float)hit.T;
                frame.Semantic[i] = (byte)hit.Part.Class;
                frame.Instance[i] = (ushort)hit.Part.Instance;
                frame.Rgb[3 * i] = ToByte(color.X);
                frame.Rgb[3 * i + 1] = ToByte(color.Y);
                frame.Rgb[3 * i + 2] = ToByte(color.Z);
            }
        });
    }

    private static byte ToByte(double c) => (byte)Math.Round(c * 255);
}
