using Concerto.Ingest.Core.Geometry;

namespace Concerto.Ingest.Synthetic.Scenes;

/// <summary>Points sampled uniformly by area over the scene's surfaces, with the lit colour the renderer gives them,
/// outward normals, semantic class and instance id (Pointcept array layout).</summary>
public sealed record GroundTruthCloud(float[] Coord, byte[] Color, float[] Normal, int[] Segment, int[] Instance)
{
    public int Count => Segment.Length;

    public static GroundTruthCloud Sample(Scene scene, int count, int seed)
    {
        ArgumentNullException.ThrowIfNull(scene);
        var rng = new Random(seed ^ 0x7c10d);
        var areas = scene.Parts.Select(p => p.Shape.SampledArea).ToArray();
        var cumulative = new double[areas.Length];
        var total = 0.0;
        for (var i = 0; i < areas.Length; i++) cumulative[i] = total += areas[i];

        var cloud = new GroundTruthCloud(new float[3 * count], new byte[3 * count], new float[3 * count], new int[count], new int[count]);
        for (var k = 0; k < count; k++)
        {
            var index = Array.BinarySearch(cumulative, rng.NextDouble() * total);
            if (index < 0) index = Math.Min(~index, areas.Length - 1);
            var part = scene.Parts[index];
            var (p, n) = part.Shape.Sample(rng);
            var c = scene.Shade(part, p, n);
            Put(cloud.Coord, k, p);
            Put(cloud.Normal, k, n);
            cloud.Color[3 * k] = (byte)Math.Round(c.X * 255);
            cloud.Color[3 * k + 1] = (byte)Math.Round(c.Y * 255);
            cloud.Color[3 * k + 2] = (byte)Math.Round(c.Z * 255);
            cloud.Segment[k] = (int)part.Class;
            cloud.Instance[k] = part.Instance;
        }

        return cloud;
    }

    public V3 Point(int k) => new(Coord[3 * k], Coord[3 * k + 1], Coord[3 * k + 2]);

    private static void Put(float[] array, int k, V3 v)
    {
        array[3 * k] = (float)v.X;
        array[3 * k + 1] = (float)v.Y;
        array[3 * k + 2] = (float)v.Z;
    }
}
