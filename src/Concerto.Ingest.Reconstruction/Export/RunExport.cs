using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Concerto.Ingest.Reconstruction.Export;

/// <summary>A keyframe camera to export: its image (a file name inside the export's images/ folder), its pose as a
/// row-major 4 x 4 camera-to-world matrix with OpenCV axes (x right, y down, z forward) in the scene frame, and its
/// pinhole intrinsics in pixels.</summary>
public sealed record ExportCamera(string ImageName, double[] CameraToWorld, double Fx, double Fy, double Cx, double Cy, int Width, int Height);

/// <summary>A reconstruction written for the tools data engineers check reconstructions in: COLMAP's text model
/// (cameras.txt, images.txt, points3D.txt; github.com/colmap/colmap doc/format.rst), nerfstudio's transforms.json (its
/// data conventions: camera-to-world with OpenGL axes, x right, y up, z back), and the scene PLY.</summary>
public static class RunExport
{
    /// <summary>COLMAP's text model in <paramref name="folder"/>: one PINHOLE camera per image, world-to-camera poses
    /// as a Hamilton quaternion (w first) and translation, points with their colours and empty tracks (our points come
    /// from dense depth, not from matched features; COLMAP's readers accept a point without observations).</summary>
    public static void WriteColmap(string folder, IReadOnlyList<ExportCamera> cameras, ReadOnlySpan<float> coord, ReadOnlySpan<byte> color)
    {
        ArgumentNullException.ThrowIfNull(cameras);
        if (coord.Length % 3 != 0 || color.Length != coord.Length) throw new ArgumentException($"{coord.Length} coordinates and {color.Length} colours are not 3 per point");
        Directory.CreateDirectory(folder);
        var invariant = CultureInfo.InvariantCulture;
        var camerasText = new StringBuilder("# Camera list with one line of data per camera:\n#   CAMERA_ID, MODEL, WIDTH, HEIGHT, PARAMS[]\n")
            .Append(invariant, $"# Number of cameras: {cameras.Count}\n");
        var imagesText = new StringBuilder("# Image list with two lines of data per image:\n#   IMAGE_ID, QW, QX, QY, QZ, TX, TY, TZ, CAMERA_ID, NAME\n#   POINTS2D[] as (X, Y, POINT3D_ID)\n")
            .Append(invariant, $"# Number of images: {cameras.Count}, mean observations per image: 0\n");
        for (var i = 0; i < cameras.Count; i++)
        {
            var c = cameras[i];
            camerasText.Append(invariant, $"{i + 1} PINHOLE {c.Width} {c.Height} {R(c.Fx)} {R(c.Fy)} {R(c.Cx)} {R(c.Cy)}\n");
            var (rotation, translation) = WorldToCamera(c.CameraToWorld);
            var (w, x, y, z) = Quaternion(rotation);
            imagesText.Append(invariant, $"{i + 1} {R(w)} {R(x)} {R(y)} {R(z)} {R(translation[0])} {R(translation[1])} {R(translation[2])} {i + 1} {c.ImageName}\n\n");
        }

        File.WriteAllText(Path.Combine(folder, "cameras.txt"), camerasText.ToString());
        File.WriteAllText(Path.Combine(folder, "images.txt"), imagesText.ToString());
        var points = coord.Length / 3;
        using var writer = new StreamWriter(Path.Combine(folder, "points3D.txt"), false, new UTF8Encoding(false));
        writer.Write("# 3D point list with one line of data per point:\n#   POINT3D_ID, X, Y, Z, R, G, B, ERROR, TRACK[] as (IMAGE_ID, POINT2D_IDX)\n");
        writer.Write(string.Create(invariant, $"# Number of points: {points}, mean track length: 0\n"));
        for (var p = 0; p < points; p++)
            writer.Write(string.Create(invariant,
                $"{p + 1} {coord[3 * p]:R} {coord[3 * p + 1]:R} {coord[3 * p + 2]:R} {color[3 * p]} {color[3 * p + 1]} {color[3 * p + 2]} 0\n"));
    }

    /// <summary>nerfstudio's transforms.json in <paramref name="folder"/>: per frame its image path (images/NAME), its
    /// intrinsics and its camera-to-world with OpenGL axes (our OpenCV y and z columns negated); the scene PLY named
    /// by <paramref name="plyFile"/> (relative) as the point cloud nerfstudio's splatting methods start from.</summary>
    public static void WriteNerfstudio(string folder, IReadOnlyList<ExportCamera> cameras, string? plyFile)
    {
        ArgumentNullException.ThrowIfNull(cameras);
        Directory.CreateDirectory(folder);
        var frames = new JsonArray();
        foreach (var c in cameras)
        {
            var m = c.CameraToWorld;
            var rows = new JsonArray();
            for (var r = 0; r < 4; r++)
                rows.Add(new JsonArray(m[4 * r], -m[4 * r + 1], -m[4 * r + 2], m[4 * r + 3]));
            frames.Add(new JsonObject
            {
                ["file_path"] = $"images/{c.ImageName}",
                ["transform_matrix"] = rows,
                ["fl_x"] = c.Fx, ["fl_y"] = c.Fy, ["cx"] = c.Cx, ["cy"] = c.Cy, ["w"] = c.Width, ["h"] = c.Height,
            });
        }

        var root = new JsonObject { ["camera_model"] = "OPENCV", ["frames"] = frames };
        if (plyFile is not null) root["ply_file_path"] = plyFile;
        File.WriteAllText(Path.Combine(folder, "transforms.json"), root.ToJsonString(new JsonSerializerOptions { WriteIndented = true }) + "\n");
    }

    /// <summary>R and t of world-to-camera from a row-major camera-to-world matrix: R = R_c2w^T, t = -R t_c2w.</summary>
    public static (double[] Rotation, double[] Translation) WorldToCamera(double[] cameraToWorld)
    {
        ArgumentNullException.ThrowIfNull(cameraToWorld);
        if (cameraToWorld.Length != 16) throw new ArgumentException($"a camera-to-world matrix has 16 values, got {cameraToWorld.Length}", nameof(cameraToWorld));
        var rotation = new double[9];
        for (var r = 0; r < 3; r++)
        for (var c = 0; c < 3; c++)
            rotation[3 * r + c] = cameraToWorld[4 * c + r];
        var translation = new double[3];
        for (var r = 0; r < 3; r++)
            translation[r] = -(rotation[3 * r] * cameraToWorld[3] + rotation[3 * r + 1] * cameraToWorld[7] + rotation[3 * r + 2] * cameraToWorld[11]);
        return (rotation, translation);
    }

    /// <summary>The unit quaternion (w, x, y, z), w >= 0, of a row-major rotation matrix (Shepperd's method).</summary>
    public static (double W, double X, double Y, double Z) Quaternion(double[] r)
    {
        ArgumentNullException.ThrowIfNull(r);
        double trace = r[0] + r[4] + r[8], w, x, y, z;
        if (trace > 0)
        {
            var s = Math.Sqrt(trace + 1) * 2;
            (w, x, y, z) = (s / 4, (r[7] - r[5]) / s, (r[2] - r[6]) / s, (r[3] - r[1]) / s);
        }
        else if (r[0] > r[4] && r[0] > r[8])
        {
            var s = Math.Sqrt(1 + r[0] - r[4] - r[8]) * 2;
            (w, x, y, z) = ((r[7] - r[5]) / s, s / 4, (r[1] + r[3]) / s, (r[2] + r[6]) / s);
        }
        else if (r[4] > r[8])
        {
            var s = Math.Sqrt(1 + r[4] - r[0] - r[8]) * 2;
            (w, x, y, z) = ((r[2] - r[6]) / s, (r[1] + r[3]) / s, s / 4, (r[5] + r[7]) / s);
        }
        else
        {
            var s = Math.Sqrt(1 + r[8] - r[0] - r[4]) * 2;
            (w, x, y, z) = ((r[3] - r[1]) / s, (r[2] + r[6]) / s, (r[5] + r[7]) / s, s / 4);
        }

        var norm = Math.Sqrt(w * w + x * x + y * y + z * z) * (w < 0 ? -1 : 1);
        return (w / norm, x / norm, y / norm, z / norm);
    }

    private static string R(double value) => value.ToString("R", CultureInfo.InvariantCulture);
}
