using Concerto.Ingest.Train.Data;

namespace Concerto.Ingest.Train.Tests.Views;

internal static class ViewTestData
{
    /// <summary>A sample from explicit coordinates; colours, normals and labels derived from the index so that
    /// subsets can be checked for alignment.</summary>
    public static PointSample FromCoords(float[] coord, IReadOnlyList<SampleImage>? images = null, int sourceOffset = 0)
    {
        var n = coord.Length / 3;
        var color = new float[3 * n];
        var normal = new float[3 * n];
        var segment = new int[n];
        var source = new int[n];
        for (var i = 0; i < n; i++)
        {
            color[3 * i] = i % 256;
            color[3 * i + 1] = (i * 7) % 256;
            color[3 * i + 2] = (i * 13) % 256;
            normal[3 * i + 2] = 1;
            segment[i] = i % 5;
            source[i] = i + sourceOffset;
        }

        return new PointSample { Key = "test", Coord = coord, Color = color, Normal = normal, Segment = segment, SourceIndex = source, Images = images ?? [] };
    }

    /// <summary>n points uniform in a box [0, size)^3 with random colours and unit normals.</summary>
    public static PointSample Random(int n, float size, int seed, IReadOnlyList<SampleImage>? images = null)
    {
        var r = new Random(seed);
        var coord = new float[3 * n];
        for (var i = 0; i < coord.Length; i++) coord[i] = (float)(r.NextDouble() * size);
        var sample = FromCoords(coord, images);
        for (var i = 0; i < sample.Color.Length; i++) sample.Color[i] = (float)(r.NextDouble() * 255);
        for (var i = 0; i < n; i++)
        {
            double x = r.NextDouble() - 0.5, y = r.NextDouble() - 0.5, z = r.NextDouble() - 0.5;
            var len = Math.Sqrt(x * x + y * y + z * z) + 1e-9;
            sample.Normal[3 * i] = (float)(x / len);
            sample.Normal[3 * i + 1] = (float)(y / len);
            sample.Normal[3 * i + 2] = (float)(z / len);
        }

        return sample;
    }

    public static float DistanceSquared(float[] coord, int a, int b)
    {
        float dx = coord[3 * a] - coord[3 * b], dy = coord[3 * a + 1] - coord[3 * b + 1], dz = coord[3 * a + 2] - coord[3 * b + 2];
        return dx * dx + dy * dy + dz * dz;
    }
}
