using Concerto.Ingest.Core.Geometry;

namespace Concerto.Ingest.Synthetic.Scenes;

/// <summary>Surface appearance: a base colour modulated by a solid (3D) procedural texture, so a surface point has the
/// same colour from every view, with detail from ~5 cm to ~1 m for feature tracking and stereo matching.</summary>
public sealed record Material(V3 BaseColor, V3 AccentColor, double Scale, int Seed, TexturePattern Pattern)
{
    public V3 Albedo(V3 p)
    {
        var q = p / Scale;
        var noise = 0.5 * ValueNoise(q, Seed) + 0.3 * ValueNoise(q * 2.7, Seed + 1) + 0.2 * ValueNoise(q * 7.3, Seed + 2);
        var mix = Pattern switch
        {
            TexturePattern.Planks => 0.55 * Band(p.X / (Scale * 0.6)) + 0.45 * noise,
            TexturePattern.Checker => 0.5 * Checker(q) + 0.5 * noise,
            TexturePattern.Speckle => noise > 0.62 ? 1.0 : noise * 0.6,
            _ => noise,
        };
        return BaseColor * (1 - mix) + AccentColor * mix;
    }

    private static double Band(double x) => 0.5 + 0.5 * Math.Sin(x * 2 * Math.PI) * Math.Sin(x * 0.37 * 2 * Math.PI + 1.3);

    private static double Checker(V3 q) => ((long)Math.Floor(q.X) + (long)Math.Floor(q.Y) + (long)Math.Floor(q.Z)) % 2 == 0 ? 1 : 0;

    /// <summary>Trilinear value noise on an integer lattice with smoothstep weights, in [0, 1].</summary>
    private static double ValueNoise(V3 p, int seed)
    {
        double fx = Math.Floor(p.X), fy = Math.Floor(p.Y), fz = Math.Floor(p.Z);
        int x = (int)fx, y = (int)fy, z = (int)fz;
        double tx = Smooth(p.X - fx), ty = Smooth(p.Y - fy), tz = Smooth(p.Z - fz);
        double Lerp(double a, double b, double t) => a + (b - a) * t;
        var c00 = Lerp(Hash(x, y, z, seed), Hash(x + 1, y, z, seed), tx);
        var c10 = Lerp(Hash(x, y + 1, z, seed), Hash(x + 1, y + 1, z, seed), tx);
        var c01 = Lerp(Hash(x, y, z + 1, seed), Hash(x + 1, y, z + 1, seed), tx);
        var c11 = Lerp(Hash(x, y + 1, z + 1, seed), Hash(x + 1, y + 1, z + 1, seed), tx);
        return Lerp(Lerp(c00, c10, ty), Lerp(c01, c11, ty), tz);
    }

    private static double Smooth(double t) => t * t * (3 - 2 * t);

    private static double Hash(int x, int y, int z, int seed)
    {
        var h = (uint)(x * 73856093 ^ y * 19349663 ^ z * 83492791 ^ seed * 2654435761u);
        h ^= h >> 16;
        h *= 0x7feb352d;
        h ^= h >> 15;
        h *= 0x846ca68b;
        h ^= h >> 16;
        return h / (double)uint.MaxValue;
    }
}

public enum TexturePattern { Noise, Planks, Checker, Speckle }
