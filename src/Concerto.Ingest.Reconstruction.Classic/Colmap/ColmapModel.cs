using System.Globalization;
using Concerto.Ingest.Core.Geometry;
using Concerto.Ingest.Core.Media;

namespace Concerto.Ingest.Reconstruction.Classic.Colmap;

/// <summary>One registered image of a COLMAP model: its file name and its camera-to-world pose (OpenCV axes, as COLMAP's).</summary>
public sealed record ColmapImage(string Name, RigidTransform CameraToWorld, int CameraId);

/// <summary>A COLMAP sparse model read from its text form (cameras.txt, images.txt, points3D.txt; COLMAP's
/// doc/format.rst): pinhole cameras, registered images and 3D points.</summary>
public sealed record ColmapModel(IReadOnlyDictionary<int, PinholeIntrinsics> Cameras, IReadOnlyList<ColmapImage> Images, IReadOnlyList<V3> Points)
{
    /// <summary>Reads the text model in <paramref name="folder"/>; cameras of models other than PINHOLE, SIMPLE_PINHOLE and
    /// the radial models (whose distortion is then ignored) are refused.</summary>
    /// <exception cref="BadInputException">A file is missing or malformed (the message names it and the line).</exception>
    public static ColmapModel Read(string folder)
    {
        var cameras = new Dictionary<int, PinholeIntrinsics>();
        foreach (var (line, number, path) in Lines(Path.Combine(folder, "cameras.txt")))
        {
            var f = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (f.Length < 5) throw Bad(path, number, "expected CAMERA_ID MODEL WIDTH HEIGHT PARAMS[]");
            int id = Int(f[0], path, number), width = Int(f[2], path, number), height = Int(f[3], path, number);
            var p = f.Skip(4).Select(v => Double(v, path, number)).ToArray();
            cameras[id] = f[1] switch
            {
                "PINHOLE" or "OPENCV" or "FULL_OPENCV" when p.Length >= 4 => new PinholeIntrinsics(width, height, p[0], p[1], p[2], p[3]),
                "SIMPLE_PINHOLE" or "SIMPLE_RADIAL" or "RADIAL" when p.Length >= 3 => new PinholeIntrinsics(width, height, p[0], p[0], p[1], p[2]),
                _ => throw Bad(path, number, $"camera model {f[1]} is not supported; run the mapper with a pinhole camera model"),
            };
        }

        var images = new List<ColmapImage>();
        var imageLine = 0;
        foreach (var (line, number, path) in Lines(Path.Combine(folder, "images.txt"), keepEmpty: true))
        {
            // Two lines per image: the pose, then its 2D points (possibly empty).
            if (imageLine++ % 2 == 1) continue;
            if (line.Length == 0) { imageLine--; continue; }
            var f = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (f.Length < 10) throw Bad(path, number, "expected IMAGE_ID QW QX QY QZ TX TY TZ CAMERA_ID NAME");
            var q = f.Skip(1).Take(4).Select(v => Double(v, path, number)).ToArray();
            var t = f.Skip(5).Take(3).Select(v => Double(v, path, number)).ToArray();
            var worldToCamera = new RigidTransform(Rotation(q[0], q[1], q[2], q[3]), new V3(t[0], t[1], t[2]));
            images.Add(new ColmapImage(string.Join(' ', f.Skip(9)), worldToCamera.Inverse(), Int(f[8], path, number)));
        }

        var points = new List<V3>();
        foreach (var (line, number, path) in Lines(Path.Combine(folder, "points3D.txt")))
        {
            var f = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (f.Length < 4) throw Bad(path, number, "expected POINT3D_ID X Y Z ...");
            points.Add(new V3(Double(f[1], path, number), Double(f[2], path, number), Double(f[3], path, number)));
        }

        return new ColmapModel(cameras, images, points);
    }

    /// <summary>The row-major rotation of a unit quaternion (w, x, y, z), Hamilton convention as COLMAP's.</summary>
    public static double[] Rotation(double w, double x, double y, double z)
    {
        var n = Math.Sqrt(w * w + x * x + y * y + z * z);
        (w, x, y, z) = (w / n, x / n, y / n, z / n);
        return
        [
            1 - 2 * (y * y + z * z), 2 * (x * y - w * z), 2 * (x * z + w * y),
            2 * (x * y + w * z), 1 - 2 * (x * x + z * z), 2 * (y * z - w * x),
            2 * (x * z - w * y), 2 * (y * z + w * x), 1 - 2 * (x * x + y * y),
        ];
    }

    private static IEnumerable<(string Line, int Number, string Path)> Lines(string path, bool keepEmpty = false)
    {
        if (!File.Exists(path)) throw new BadInputException($"{path} is missing: not a COLMAP text model (colmap model_converter --output_type TXT writes one).");
        var number = 0;
        foreach (var raw in File.ReadLines(path))
        {
            number++;
            var line = raw.Trim();
            if (line.StartsWith('#') || (line.Length == 0 && !keepEmpty)) continue;
            yield return (line, number, path);
        }
    }

    private static int Int(string text, string path, int line) =>
        int.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out var v) ? v : throw Bad(path, line, $"'{text}' is not an integer");

    private static double Double(string text, string path, int line) =>
        double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var v) ? v : throw Bad(path, line, $"'{text}' is not a number");

    private static BadInputException Bad(string path, int line, string problem) => new($"{path}:{line}: {problem}");
}
