using Concerto.Ingest.Core.Geometry;

namespace Concerto.Ingest.Synthetic.Geometry;

/// <summary>A ray hit: <see cref="T"/> is the ray parameter, <see cref="Normal"/> faces the ray's origin side of the
/// surface (outward for solid objects), <see cref="Face"/> says which face was hit (for sampling masks).</summary>
public readonly record struct Hit(double T, V3 Normal, int Face);

/// <summary>A closed solid whose surface can be ray cast, measured and sampled.</summary>
public abstract class Shape
{
    /// <summary>Nearest intersection with t in (tMin, tMax), the ray being origin + t * direction.</summary>
    public abstract bool Intersect(V3 origin, V3 direction, double tMin, double tMax, out Hit hit);

    /// <summary>Unsigned distance from a point to the surface.</summary>
    public abstract double DistanceToSurface(V3 p);

    /// <summary>Area of the faces that are sampled for the ground-truth cloud.</summary>
    public abstract double SampledArea { get; }

    /// <summary>A uniformly random point on the sampled faces, with its outward normal.</summary>
    public abstract (V3 Point, V3 Normal) Sample(Random rng);

    /// <summary>Whether a point is inside the solid (or on its surface).</summary>
    public abstract bool Contains(V3 p);

    /// <summary>Bounding sphere, for a cheap rejection before the exact test.</summary>
    public abstract (V3 Center, double Radius) Bounds { get; }
}

/// <summary>A box rotated by <paramref name="yaw"/> radians about the vertical (z) axis. Faces are numbered
/// 0..5 for -x, +x, -y, +y, -z, +z in the box's own frame; <paramref name="sampledFaces"/> is a bit mask of the faces
/// the ground-truth cloud samples (e.g. not the bottom of furniture standing on the floor).</summary>
public sealed class OrientedBox(V3 center, V3 halfSize, double yaw, int sampledFaces = 0b111111) : Shape
{
    private readonly double _cos = Math.Cos(yaw), _sin = Math.Sin(yaw);

    public V3 Center { get; } = center;
    public V3 HalfSize { get; } = halfSize;

    private V3 ToLocal(V3 v) => new(_cos * v.X + _sin * v.Y, -_sin * v.X + _cos * v.Y, v.Z);
    private V3 ToWorld(V3 v) => new(_cos * v.X - _sin * v.Y, _sin * v.X + _cos * v.Y, v.Z);

    public override bool Intersect(V3 origin, V3 direction, double tMin, double tMax, out Hit hit)
    {
        var o = ToLocal(origin - Center);
        var d = ToLocal(direction);
        double enter = double.NegativeInfinity, exit = double.PositiveInfinity;
        int enterFace = -1, exitFace = -1;
        for (var axis = 0; axis < 3; axis++)
        {
            var oa = axis == 0 ? o.X : axis == 1 ? o.Y : o.Z;
            var da = axis == 0 ? d.X : axis == 1 ? d.Y : d.Z;
            var h = axis == 0 ? HalfSize.X : axis == 1 ? HalfSize.Y : HalfSize.Z;
            if (Math.Abs(da) < 1e-15)
            {
                if (oa < -h || oa > h) { hit = default; return false; }
                continue;
            }

            var t0 = (-h - oa) / da;
            var t1 = (h - oa) / da;
            int f0 = 2 * axis, f1 = 2 * axis + 1;
            if (t0 > t1) { (t0, t1) = (t1, t0); (f0, f1) = (f1, f0); }
            if (t0 > enter) { enter = t0; enterFace = f0; }
            if (t1 < exit) { exit = t1; exitFace = f1; }
        }

        if (enter > exit) { hit = default; return false; }
        // From outside the nearest hit is where the ray enters; from inside, where it leaves (normal flipped inward).
        if (enter > tMin && enter < tMax) { hit = new Hit(enter, FaceNormal(enterFace), enterFace); return true; }
        if (exit > tMin && exit < tMax) { hit = new Hit(exit, -FaceNormal(exitFace), exitFace); return true; }
        hit = default;
        return false;
    }

    private V3 FaceNormal(int face)
    {
        var sign = face % 2 == 0 ? -1.0 : 1.0;
        var local = (face / 2) switch { 0 => new V3(sign, 0, 0), 1 => new V3(0, sign, 0), _ => new V3(0, 0, sign) };
        return ToWorld(local);
    }

    public override bool Contains(V3 p)
    {
        var q = ToLocal(p - Center).Abs - HalfSize;
        return q.MaxComponent <= 0;
    }

    public override double DistanceToSurface(V3 p)
    {
        var q = ToLocal(p - Center).Abs - HalfSize;
        var outside = V3.Max(q, V3.Zero).Length;
        var inside = Math.Min(q.MaxComponent, 0);
        return Math.Abs(outside + inside);
    }

    private double FaceArea(int face) => (face / 2) switch
    {
        0 => 4 * HalfSize.Y * HalfSize.Z,
        1 => 4 * HalfSize.X * HalfSize.Z,
        _ => 4 * HalfSize.X * HalfSize.Y,
    };

    public override double SampledArea => Enumerable.Range(0, 6).Where(f => (sampledFaces & (1 << f)) != 0).Sum(FaceArea);

    public override (V3 Point, V3 Normal) Sample(Random rng)
    {
        ArgumentNullException.ThrowIfNull(rng);
        if ((sampledFaces & 0b111111) == 0) throw new InvalidOperationException("this box samples no face");
        var pick = rng.NextDouble() * SampledArea;
        var face = 0;
        for (; face < 5; face++)
        {
            if ((sampledFaces & (1 << face)) == 0) continue;
            if (pick < FaceArea(face)) break;
            pick -= FaceArea(face);
        }

        while ((sampledFaces & (1 << face)) == 0) face--; // rounding at the end of the range
        double a = rng.NextDouble() * 2 - 1, b = rng.NextDouble() * 2 - 1;
        var sign = face % 2 == 0 ? -1.0 : 1.0;
        var local = (face / 2) switch
        {
            0 => new V3(sign * HalfSize.X, a * HalfSize.Y, b * HalfSize.Z),
            1 => new V3(a * HalfSize.X, sign * HalfSize.Y, b * HalfSize.Z),
            _ => new V3(a * HalfSize.X, b * HalfSize.Y, sign * HalfSize.Z),
        };
        return (Center + ToWorld(local), FaceNormal(face));
    }

    public override (V3 Center, double Radius) Bounds => (Center, HalfSize.Length);
}

/// <summary>A vertical cylinder with caps. Faces: 0 side, 1 bottom, 2 top.</summary>
public sealed class VerticalCylinder(double x, double y, double radius, double zMin, double zMax, int sampledFaces = 0b101) : Shape
{
    public override bool Intersect(V3 origin, V3 direction, double tMin, double tMax, out Hit hit)
    {
        hit = default;
        var found = false;
        double ox = origin.X - x, oy = origin.Y - y;
        var a = direction.X * direction.X + direction.Y * direction.Y;
        if (a > 1e-18)
        {
            var b = ox * direction.X + oy * direction.Y;
            var c = ox * ox + oy * oy - radius * radius;
            var disc = b * b - a * c;
            if (disc >= 0)
            {
                var s = Math.Sqrt(disc);
                for (var k = 0; k < 2; k++)
                {
                    var t = (k == 0 ? -b - s : -b + s) / a;
                    if (t <= tMin || t >= tMax || (found && t >= hit.T)) continue;
                    var z = origin.Z + t * direction.Z;
                    if (z < zMin || z > zMax) continue;
                    var n = new V3(ox + t * direction.X, oy + t * direction.Y, 0) / radius;
                    hit = new Hit(t, n.Dot(direction) > 0 ? -n : n, 0);
                    found = true;
                }
            }
        }

        if (Math.Abs(direction.Z) > 1e-15)
        {
            for (var face = 1; face <= 2; face++)
            {
                var z = face == 1 ? zMin : zMax;
                var t = (z - origin.Z) / direction.Z;
                if (t <= tMin || t >= tMax || (found && t >= hit.T)) continue;
                double px = ox + t * direction.X, py = oy + t * direction.Y;
                if (px * px + py * py > radius * radius) continue;
                var n = new V3(0, 0, face == 1 ? -1 : 1);
                hit = new Hit(t, n.Dot(direction) > 0 ? -n : n, face);
                found = true;
            }
        }

        return found;
    }

    public override bool Contains(V3 p) =>
        (p.X - x) * (p.X - x) + (p.Y - y) * (p.Y - y) <= radius * radius && p.Z >= zMin && p.Z <= zMax;

    public override double DistanceToSurface(V3 p)
    {
        var radial = Math.Sqrt((p.X - x) * (p.X - x) + (p.Y - y) * (p.Y - y)) - radius;
        var axial = Math.Abs(p.Z - (zMin + zMax) / 2) - (zMax - zMin) / 2;
        var outside = Math.Sqrt(Math.Pow(Math.Max(radial, 0), 2) + Math.Pow(Math.Max(axial, 0), 2));
        return Math.Abs(outside + Math.Min(Math.Max(radial, axial), 0));
    }

    private double FaceArea(int face) => face == 0 ? 2 * Math.PI * radius * (zMax - zMin) : Math.PI * radius * radius;

    public override double SampledArea => Enumerable.Range(0, 3).Where(f => (sampledFaces & (1 << f)) != 0).Sum(FaceArea);

    public override (V3 Point, V3 Normal) Sample(Random rng)
    {
        ArgumentNullException.ThrowIfNull(rng);
        if ((sampledFaces & 0b111) == 0) throw new InvalidOperationException("this cylinder samples no face");
        var pick = rng.NextDouble() * SampledArea;
        var face = 2;
        for (var f = 0; f < 3; f++)
        {
            if ((sampledFaces & (1 << f)) == 0) continue;
            face = f;
            if (pick < FaceArea(f)) break;
            pick -= FaceArea(f);
        }

        if (face == 0)
        {
            var angle = rng.NextDouble() * 2 * Math.PI;
            var n = new V3(Math.Cos(angle), Math.Sin(angle), 0);
            return (new V3(x + radius * n.X, y + radius * n.Y, zMin + rng.NextDouble() * (zMax - zMin)), n);
        }

        var r = radius * Math.Sqrt(rng.NextDouble());
        var phi = rng.NextDouble() * 2 * Math.PI;
        return (new V3(x + r * Math.Cos(phi), y + r * Math.Sin(phi), face == 2 ? zMax : zMin), new V3(0, 0, face == 2 ? 1 : -1));
    }

    public override (V3 Center, double Radius) Bounds =>
        (new V3(x, y, (zMin + zMax) / 2), Math.Sqrt(radius * radius + Math.Pow((zMax - zMin) / 2, 2)));
}

public sealed class Sphere(V3 center, double radius) : Shape
{
    public override bool Intersect(V3 origin, V3 direction, double tMin, double tMax, out Hit hit)
    {
        hit = default;
        var oc = origin - center;
        var a = direction.Dot(direction);
        var b = oc.Dot(direction);
        var disc = b * b - a * (oc.Dot(oc) - radius * radius);
        if (disc < 0) return false;
        var s = Math.Sqrt(disc);
        for (var k = 0; k < 2; k++)
        {
            var t = (k == 0 ? -b - s : -b + s) / a;
            if (t <= tMin || t >= tMax) continue;
            var n = (origin + direction * t - center) / radius;
            hit = new Hit(t, n.Dot(direction) > 0 ? -n : n, 0);
            return true;
        }

        return false;
    }

    public override bool Contains(V3 p) => (p - center).Length <= radius;

    public override double DistanceToSurface(V3 p) => Math.Abs((p - center).Length - radius);

    public override double SampledArea => 4 * Math.PI * radius * radius;

    public override (V3 Point, V3 Normal) Sample(Random rng)
    {
        ArgumentNullException.ThrowIfNull(rng);
        var z = rng.NextDouble() * 2 - 1;
        var phi = rng.NextDouble() * 2 * Math.PI;
        var rho = Math.Sqrt(1 - z * z);
        var n = new V3(rho * Math.Cos(phi), rho * Math.Sin(phi), z);
        return (center + n * radius, n);
    }

    public override (V3 Center, double Radius) Bounds => (center, radius);
}
