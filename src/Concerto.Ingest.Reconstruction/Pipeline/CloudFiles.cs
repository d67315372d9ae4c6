using System.Globalization;
using System.Text;
using Concerto.Ingest.Formats.Arrays;
using Concerto.Ingest.Formats.PointClouds;
using Concerto.Ingest.Reconstruction.Fusion;

namespace Concerto.Ingest.Reconstruction.Pipeline;

/// <summary>Scene files: Pointcept arrays (coord.npy float32, color.npy uint8, normal.npy float32) for trainers, a
/// binary PLY for viewers, and per-keyframe depth.</summary>
public static class CloudFiles
{
    /// <summary>The scene's binary PLY, beside its arrays.</summary>
    public const string PlyFile = "scene.ply";

    public static void WriteNpy(string folder, FusedCloud cloud)
    {
        ArgumentNullException.ThrowIfNull(cloud);
        PointCloudFiles.Write(folder, new PointCloudArrays(cloud.Coord, cloud.Color, cloud.Normal));
    }

    /// <summary>A keyframe's depth (and confidence, when the reconstructor gives one) as float32 H x W arrays named by
    /// frame index under depth/ and confidence/, in the reconstructor's units: multiply by the scene's scale for scene
    /// units.</summary>
    public static void WriteFrame(string folder, ReconstructedView view, DepthFrame frame)
    {
        ArgumentNullException.ThrowIfNull(view);
        ArgumentNullException.ThrowIfNull(frame);
        var name = $"{view.FrameIndex:D7}.npy";
        Directory.CreateDirectory(Path.Combine(folder, "depth"));
        Npy.Write<float>(Path.Combine(folder, "depth", name), frame.Depth, frame.Height, frame.Width);
        if (frame.Confidence is { } confidence)
        {
            Directory.CreateDirectory(Path.Combine(folder, "confidence"));
            Npy.Write<float>(Path.Combine(folder, "confidence", name), confidence, frame.Height, frame.Width);
        }
    }

    public static void WritePly(string path, FusedCloud cloud)
    {
        ArgumentNullException.ThrowIfNull(cloud);
        using var file = new FileStream(path, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 20);
        var header = "ply\nformat binary_little_endian 1.0\n" +
                     $"element vertex {cloud.Count.ToString(CultureInfo.InvariantCulture)}\n" +
                     "property float x\nproperty float y\nproperty float z\nproperty float nx\nproperty float ny\nproperty float nz\n" +
                     "property uchar red\nproperty uchar green\nproperty uchar blue\nend_header\n";
        file.Write(Encoding.ASCII.GetBytes(header));
        using var writer = new BinaryWriter(file);
        for (var i = 0; i < cloud.Count; i++)
        {
            for (var k = 0; k < 3; k++) writer.Write(cloud.Coord[3 * i + k]);
            for (var k = 0; k < 3; k++) writer.Write(cloud.Normal[3 * i + k]);
            for (var k = 0; k < 3; k++) writer.Write(cloud.Color[3 * i + k]);
        }
    }
}
