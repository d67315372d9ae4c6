using Concerto.Ingest.Train.Data;

namespace Concerto.Ingest.Train.Views;

/// <summary>Subsets and copies of <see cref="PointSample"/>s. Every result owns fresh per-point arrays, so callers may
/// augment them in place without touching the sample they came from.</summary>
public static class PointSubset
{
    /// <summary>The points at <paramref name="indices"/> (in that order), every per-point array copied. Images are shared
    /// unchanged: their correspondences name stored point indices, which <see cref="PointSample.SourceIndex"/> keeps.</summary>
    public static PointSample Take(PointSample sample, ReadOnlySpan<int> indices)
    {
        ArgumentNullException.ThrowIfNull(sample);
        var n = sample.Count;
        var m = indices.Length;
        var coord = new float[3 * m];
        var color = new float[3 * m];
        var normal = new float[3 * m];
        var source = new int[m];
        var labels = sample.Segment;
        var segment = labels is null ? null : new int[m];
        float[] c = sample.Coord, rgb = sample.Color, nrm = sample.Normal;
        for (var j = 0; j < m; j++)
        {
            var i = indices[j];
            if ((uint)i >= (uint)n) throw new ArgumentOutOfRangeException(nameof(indices), i, $"point index outside the {n} points of {sample.Key}");
            int from = 3 * i, to = 3 * j;
            coord[to] = c[from];
            coord[to + 1] = c[from + 1];
            coord[to + 2] = c[from + 2];
            color[to] = rgb[from];
            color[to + 1] = rgb[from + 1];
            color[to + 2] = rgb[from + 2];
            normal[to] = nrm[from];
            normal[to + 1] = nrm[from + 1];
            normal[to + 2] = nrm[from + 2];
            source[j] = sample.SourceIndex[i];
            if (segment is not null) segment[j] = labels![i];
        }

        return new PointSample
        {
            Key = sample.Key,
            Coord = coord,
            Color = color,
            Normal = normal,
            Segment = segment,
            SourceIndex = source,
            Images = sample.Images,
        };
    }

    /// <summary>The same points with some per-point arrays replaced (the others shared).</summary>
    public static PointSample With(this PointSample sample, float[]? coord = null, float[]? color = null, float[]? normal = null)
    {
        ArgumentNullException.ThrowIfNull(sample);
        return new PointSample
        {
            Key = sample.Key,
            Coord = coord ?? sample.Coord,
            Color = color ?? sample.Color,
            Normal = normal ?? sample.Normal,
            Segment = sample.Segment,
            SourceIndex = sample.SourceIndex,
            Images = sample.Images,
        };
    }
}
