using Concerto.Ingest.Formats.Arrays;

namespace Concerto.Ingest.Formats.PointClouds;

/// <summary>The one reader and writer of Pointcept point-cloud folders (shared/spec/concerto.md section 4), used for
/// scenes, segments, captures and dataset exports alike: <c>coord.npy</c> float32 N x 3, <c>color.npy</c> uint8 N x 3,
/// <c>normal.npy</c> float32 N x 3, and when labelled <c>segment.npy</c> and <c>instance.npy</c> int32 N (int64 is read
/// too, as Pointcept's own preprocessing writes it).</summary>
public static class PointCloudFiles
{
    public const string CoordFile = "coord.npy";
    public const string ColorFile = "color.npy";
    public const string NormalFile = "normal.npy";
    public const string SegmentFile = "segment.npy";
    public const string InstanceFile = "instance.npy";

    /// <summary>Whether <paramref name="folder"/> holds a point cloud (its coordinates at least).</summary>
    public static bool Exists(string folder) => File.Exists(Path.Combine(folder, CoordFile));

    /// <summary>Writes <paramref name="cloud"/> into <paramref name="folder"/> (created when missing); label files only
    /// for the labels the cloud has.</summary>
    public static void Write(string folder, PointCloudArrays cloud)
    {
        ArgumentNullException.ThrowIfNull(cloud);
        var n = cloud.Count;
        if (cloud.Coord.Length != 3 * n || cloud.Color.Length != 3 * n || cloud.Normal.Length != 3 * n
            || (cloud.Segment is { } s && s.Length != n) || (cloud.Instance is { } i && i.Length != n))
            throw new ArgumentException($"the point cloud's arrays disagree on its size ({n} points by its coordinates)", nameof(cloud));
        Directory.CreateDirectory(folder);
        Npy.Write<float>(Path.Combine(folder, CoordFile), cloud.Coord, n, 3);
        Npy.Write<byte>(Path.Combine(folder, ColorFile), cloud.Color, n, 3);
        Npy.Write<float>(Path.Combine(folder, NormalFile), cloud.Normal, n, 3);
        if (cloud.Segment is { } segment) Npy.Write<int>(Path.Combine(folder, SegmentFile), segment, n);
        if (cloud.Instance is { } instance) Npy.Write<int>(Path.Combine(folder, InstanceFile), instance, n);
    }

    /// <summary>Reads and checks the cloud in <paramref name="folder"/>: every array present with the type and shape
    /// above and the same number of points, coordinates and normals finite; labels null when their files are absent.</summary>
    /// <exception cref="InvalidDataException">A file is missing, malformed or disagrees with coord.npy (the message
    /// names the file and what was expected).</exception>
    public static PointCloudArrays Read(string folder)
    {
        var coord = ReadCoord(folder);
        var n = coord.Length / 3;
        var like = $"({n}, 3) like {CoordFile}";
        var colorPath = Path.Combine(folder, ColorFile);
        NpyCheck.Check(colorPath, NpyHeader.UInt8, "uint8", [n, 3], like);
        var color = Npy.Read<byte>(colorPath).Data;
        var normal = NpyCheck.ReadFinite(Path.Combine(folder, NormalFile), n, 3, like);
        return new PointCloudArrays(coord, color, normal, ReadLabels(folder, SegmentFile, n), ReadLabels(folder, InstanceFile, n));
    }

    /// <summary>Reads and checks only the coordinates (float32 N x 3, finite): for readers that need no colour, e.g.
    /// ground-truth clouds of captures that may carry no normals.</summary>
    public static float[] ReadCoord(string folder) => NpyCheck.ReadFinite(Path.Combine(folder, CoordFile), -1, 3, "(N, 3)");

    /// <summary>The semantic labels (<see cref="SegmentFile"/>) of a cloud of <paramref name="count"/> points, null when
    /// the folder has none.</summary>
    public static int[]? ReadSegment(string folder, int count) => ReadLabels(folder, SegmentFile, count);

    private static int[]? ReadLabels(string folder, string file, int count)
    {
        var path = Path.Combine(folder, file);
        return File.Exists(path) ? NpyCheck.ReadIndices(path, count, $"({count},) like {CoordFile}") : null;
    }
}
