namespace Concerto.Ingest.Formats.PointClouds;

/// <summary>A point cloud as Pointcept stores it, point-major: <see cref="Coord"/> and <see cref="Normal"/> 3 floats a
/// point, <see cref="Color"/> 3 bytes (RGB), and per-point semantic <see cref="Segment"/> and <see cref="Instance"/> ids
/// when the cloud is labelled.</summary>
public sealed record PointCloudArrays(float[] Coord, byte[] Color, float[] Normal, int[]? Segment = null, int[]? Instance = null)
{
    public int Count => Coord.Length / 3;

    /// <summary>The points at <paramref name="points"/> (indices into this cloud), in that order, labels included.</summary>
    public PointCloudArrays Select(IReadOnlyList<int> points)
    {
        ArgumentNullException.ThrowIfNull(points);
        var n = points.Count;
        var coord = new float[3 * n];
        var color = new byte[3 * n];
        var normal = new float[3 * n];
        for (var i = 0; i < n; i++)
        {
            var p = points[i];
            for (var a = 0; a < 3; a++)
            {
                coord[3 * i + a] = Coord[3 * p + a];
                color[3 * i + a] = Color[3 * p + a];
                normal[3 * i + a] = Normal[3 * p + a];
            }
        }

        return new PointCloudArrays(coord, color, normal, Pick(Segment, points), Pick(Instance, points));
    }

    private static int[]? Pick(int[]? values, IReadOnlyList<int> points)
    {
        if (values is null) return null;
        var picked = new int[points.Count];
        for (var i = 0; i < picked.Length; i++) picked[i] = values[points[i]];
        return picked;
    }
}
