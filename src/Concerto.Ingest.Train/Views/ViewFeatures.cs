using Concerto.Ingest.Train.Data;

namespace Concerto.Ingest.Train.Views;

/// <summary>The PTv3 embedding input (spec section 1: Linear(9, C0) over [coord, color / 255, normal]). This is where
/// Sonata's "normalise colour" step lives (the reference's NormalizeColor is colour / 255): views keep colours in
/// [0, 255], as <see cref="PointSample.Color"/> promises, and are scaled once here.</summary>
public static class ViewFeatures
{
    public const int Channels = 9;

    /// <summary>Colours are divided by this (a division, as the reference's NormalizeColor, not a reciprocal multiply).</summary>
    public const float ColorRange = 255f;

    /// <summary>N x 9 row-major features: x, y, z, r / 255, g / 255, b / 255, nx, ny, nz.</summary>
    public static float[] Build(PointSample view)
    {
        ArgumentNullException.ThrowIfNull(view);
        var features = new float[Channels * view.Count];
        Build(view, features);
        return features;
    }

    /// <summary>Writes the N x 9 features into <paramref name="destination"/> (e.g. a slice of a batch buffer).</summary>
    public static void Build(PointSample view, Span<float> destination)
    {
        ArgumentNullException.ThrowIfNull(view);
        var n = view.Count;
        if (destination.Length != Channels * n) throw new ArgumentException($"destination holds {destination.Length} floats, expected {Channels * n}", nameof(destination));
        float[] coord = view.Coord, color = view.Color, normal = view.Normal;
        for (var i = 0; i < n; i++)
        {
            int o = Channels * i, s = 3 * i;
            destination[o] = coord[s];
            destination[o + 1] = coord[s + 1];
            destination[o + 2] = coord[s + 2];
            destination[o + 3] = color[s] / ColorRange;
            destination[o + 4] = color[s + 1] / ColorRange;
            destination[o + 5] = color[s + 2] / ColorRange;
            destination[o + 6] = normal[s];
            destination[o + 7] = normal[s + 1];
            destination[o + 8] = normal[s + 2];
        }
    }
}
