using Concerto.Ingest.Core.Geometry;
using Concerto.Ingest.Reconstruction.Alignment;

namespace Concerto.Ingest.Reconstruction.Fusion;

/// <summary>Concerto's convention by default: after levelling, min x and y at 0, floor kept at z = 0 and the z-range
/// scaled to <see cref="TargetZRange"/>; null keeps the scale (no scaling).</summary>
public sealed record SceneNormalisationSettings(double? TargetZRange = 3.0)
{
    public void Validate()
    {
        if (TargetZRange is { } t && !(t > 0 && double.IsFinite(t)))
            throw new ArgumentOutOfRangeException(nameof(TargetZRange), t, "target z-range must be positive, or null for no scaling");
    }
}

public static class SceneNormalisation
{
    /// <summary>Applies <paramref name="levelling"/> (usually <see cref="GravityAlignmentResult.Transform"/>) to the cloud
    /// in place, moves min x, y to 0 and scales about the floor (z = 0) so the z-range is the target. Normals and view
    /// directions are rotated. Returns the full similarity applied, for the cameras.</summary>
    public static Sim3 Apply(FusedCloud cloud, RigidTransform levelling, SceneNormalisationSettings settings)
    {
        ArgumentNullException.ThrowIfNull(cloud);
        ArgumentNullException.ThrowIfNull(levelling);
        ArgumentNullException.ThrowIfNull(settings);
        settings.Validate();
        var (coord, n) = (cloud.Coord, cloud.Count);
        if (n == 0) return new Sim3(1, Mat3.FromArray(levelling.R), levelling.T);

        // Pass 1: bounds of the levelled cloud. Pass 2 recomputes the same expression, so the minimum maps to exactly 0.
        double minX = double.MaxValue, minY = double.MaxValue, minZ = double.MaxValue, maxZ = double.MinValue;
        for (var i = 0; i < n; i++)
        {
            var p = levelling.Apply(new V3(coord[3 * i], coord[3 * i + 1], coord[3 * i + 2]));
            minX = Math.Min(minX, p.X);
            minY = Math.Min(minY, p.Y);
            minZ = Math.Min(minZ, p.Z);
            maxZ = Math.Max(maxZ, p.Z);
        }

        var range = maxZ - minZ;
        var scale = settings.TargetZRange is { } target && range > 0 ? target / range : 1.0;
        for (var i = 0; i < n; i++)
        {
            var p = levelling.Apply(new V3(coord[3 * i], coord[3 * i + 1], coord[3 * i + 2]));
            coord[3 * i] = (float)((p.X - minX) * scale);
            coord[3 * i + 1] = (float)((p.Y - minY) * scale);
            coord[3 * i + 2] = (float)(p.Z * scale);
        }

        RotateAll(cloud.Normal, levelling);
        RotateAll(cloud.ViewDirection, levelling);
        return new Sim3(scale, Mat3.FromArray(levelling.R), scale * (levelling.T - new V3(minX, minY, 0)));
    }

    private static void RotateAll(float[] vectors, RigidTransform rotation)
    {
        for (var i = 0; i < vectors.Length; i += 3)
        {
            var v = rotation.Rotate(new V3(vectors[i], vectors[i + 1], vectors[i + 2]));
            (vectors[i], vectors[i + 1], vectors[i + 2]) = ((float)v.X, (float)v.Y, (float)v.Z);
        }
    }
}
