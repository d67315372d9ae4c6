using Concerto.Ingest.Core.Geometry;
using Concerto.Ingest.Synthetic.Geometry;

namespace Concerto.Ingest.Synthetic.Scenes;

/// <summary>One solid of a scene with its label and look. Furniture is several parts sharing an instance id.</summary>
public sealed record ScenePart(Shape Shape, SemanticClass Class, int Instance, Material Material);

public sealed record PointLight(V3 Position, double Intensity);

public readonly record struct SceneHit(double T, V3 Normal, ScenePart Part);

/// <summary>A room with furniture, lit by point lights (Lambertian, no shadows: colours do not depend on the view,
/// which keeps photometric matching between frames exact up to video compression). The room spans
/// [-Width/2, Width/2] x [-Depth/2, Depth/2] x [0, Height], z up, metres.</summary>
public sealed class Scene(
    int seed, double width, double depth, double height, IReadOnlyList<ScenePart> parts, IReadOnlyList<PointLight> lights,
    double walkwayA, double walkwayB)
{
    private const double Ambient = 0.32;
    private readonly ScenePart[] _parts = [.. parts];
    private readonly PointLight[] _lights = [.. lights];
    private readonly (V3 Center, double Radius)[] _bounds = parts.Select(p => p.Shape.Bounds).ToArray();

    public int Seed { get; } = seed;
    public double Width { get; } = width;
    public double Depth { get; } = depth;
    public double Height { get; } = height;
    public IReadOnlyList<ScenePart> Parts { get; } = parts;
    public IReadOnlyList<PointLight> Lights { get; } = lights;

    /// <summary>Semi-axes of the elliptical walkway around the room centre that furniture keeps clear of.</summary>
    public (double A, double B) Walkway { get; } = (walkwayA, walkwayB);

    /// <summary>Nearest surface along origin + t * direction, t > 0.</summary>
    public bool Trace(V3 origin, V3 direction, out SceneHit hit)
    {
        hit = default;
        var best = double.PositiveInfinity;
        var dd = direction.Dot(direction);
        var length = Math.Sqrt(dd);
        for (var i = 0; i < _bounds.Length; i++)
        {
            // Bounding-sphere rejection: skip when the ray misses the sphere, points away from it, or the sphere
            // starts beyond the best hit so far.
            var (c, r) = _bounds[i];
            var oc = c - origin;
            var along = oc.Dot(direction) / length;   // distance along the ray to the sphere centre's foot
            var ocLength2 = oc.Dot(oc);
            if (ocLength2 - along * along > r * r) continue;
            if (ocLength2 > r * r && along < 0) continue;
            if (along - r > best * length) continue;
            if (_parts[i].Shape.Intersect(origin, direction, 1e-9, best, out var h))
            {
                best = h.T;
                hit = new SceneHit(h.T, h.Normal, _parts[i]);
            }
        }

        return hit.Part is not null;
    }

    /// <summary>Lit colour (components in [0, 1]) of a surface point.</summary>
    public V3 Shade(ScenePart part, V3 point, V3 normal)
    {
        ArgumentNullException.ThrowIfNull(part);
        var light = Ambient;
        foreach (var l in _lights)
        {
            var toLight = l.Position - point;
            var distance2 = toLight.Dot(toLight);
            var lambert = Math.Max(0, normal.Dot(toLight) / Math.Sqrt(distance2));
            light += l.Intensity * lambert / (1 + 0.08 * distance2);
        }

        var c = part.Material.Albedo(point) * light;
        return new V3(Expose(c.X), Expose(c.Y), Expose(c.Z));
    }

    /// <summary>Smooth exposure curve instead of clipping, so brightly lit surfaces keep their texture.</summary>
    private static double Expose(double radiance) => 1 - Math.Exp(-1.6 * radiance);

    /// <summary>Distance from a point to the nearest surface of the scene (0 on a surface).</summary>
    public double DistanceToSurface(V3 p) => Parts.Min(part => part.Shape.DistanceToSurface(p));

    /// <summary>Whether a point is inside some solid or outside the room's interior.</summary>
    public bool IsInsideMatter(V3 p) =>
        Math.Abs(p.X) > Width / 2 || Math.Abs(p.Y) > Depth / 2 || p.Z < 0 || p.Z > Height || Parts.Any(part => part.Shape.Contains(p));
}
