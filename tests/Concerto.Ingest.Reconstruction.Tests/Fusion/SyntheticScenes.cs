using Concerto.Ingest.Core.Geometry;
using Concerto.Ingest.Reconstruction.Fusion;

namespace Concerto.Ingest.Reconstruction.Tests.Fusion;

/// <summary>Analytic depth frames (ray casting against planes and spheres) and point sets for the fusion tests.</summary>
internal static class SyntheticScenes
{
    /// <summary>Distance along a world ray to the first hit, or null.</summary>
    public delegate double? Surface(V3 origin, V3 direction);

    /// <summary>OpenCV camera at <paramref name="position"/> looking at <paramref name="target"/>, image "up" along +z.</summary>
    public static RigidTransform LookAt(V3 position, V3 target)
    {
        var forward = (target - position).Normalized;
        var up = Math.Abs(forward.Z) > 0.99 ? new V3(0, 1, 0) : V3.UnitZ;
        var right = forward.Cross(up).Normalized;
        return RigidTransform.FromAxes(right, forward.Cross(right), forward, position);
    }

    /// <summary>Renders z-depth by casting the ray through each integer pixel centre; rgb = (u % 256, v % 256, 77).
    /// Gaussian noise of <paramref name="depthNoise"/> (relative) is added when positive.</summary>
    public static DepthFrame Render(Surface surface, RigidTransform cameraToWorld, int width = 160, int height = 120, double fovDegrees = 60,
        double depthNoise = 0, int seed = 0)
    {
        var k = PinholeIntrinsics.FromHorizontalFov(width, height, fovDegrees);
        var depth = new float[width * height];
        var rgb = new byte[3 * width * height];
        var rng = new Random(seed);
        for (var v = 0; v < height; v++)
        for (var u = 0; u < width; u++)
        {
            var i = v * width + u;
            // Camera ray has z = 1, so the hit distance along it is the z-depth.
            var hit = surface(cameraToWorld.T, cameraToWorld.Rotate(k.Ray(u, v)));
            if (hit is { } t && t > 0) depth[i] = (float)(t * (1 + depthNoise * Gaussian(rng)));
            (rgb[3 * i], rgb[3 * i + 1], rgb[3 * i + 2]) = ((byte)(u % 256), (byte)(v % 256), 77);
        }

        return new DepthFrame(width, height, depth, null, rgb, k, cameraToWorld);
    }

    /// <summary>The plane dot(normal, p) = offset restricted to |p.x| &lt;= half and |p.y| &lt;= half.</summary>
    public static Surface Rectangle(V3 normal, double offset, double half) => (o, d) =>
    {
        var denominator = normal.Dot(d);
        if (Math.Abs(denominator) < 1e-12) return null;
        var t = (offset - normal.Dot(o)) / denominator;
        var p = o + d * t;
        return Math.Abs(p.X) <= half && Math.Abs(p.Y) <= half ? t : null;
    };

    public static Surface Sphere(V3 centre, double radius) => (o, d) =>
    {
        var oc = o - centre;
        double a = d.Dot(d), b = oc.Dot(d), c = oc.Dot(oc) - radius * radius;
        var disc = b * b - a * c;
        return disc < 0 ? null : (-b - Math.Sqrt(disc)) / a;
    };

    public static double Gaussian(Random rng) =>
        Math.Sqrt(-2 * Math.Log(1 - rng.NextDouble())) * Math.Cos(2 * Math.PI * rng.NextDouble());

    public static V3 Point(float[] coord, int i) => new(coord[3 * i], coord[3 * i + 1], coord[3 * i + 2]);

    public static double AngleDegrees(V3 a, V3 b) => Math.Acos(Math.Clamp(a.Dot(b) / (a.Length * b.Length), -1, 1)) * 180 / Math.PI;

    /// <summary>Row-major rotation about unit <paramref name="axis"/> by <paramref name="degrees"/>.</summary>
    public static double[] AxisAngle(V3 axis, double degrees)
    {
        var k = axis.Normalized;
        double a = degrees * Math.PI / 180, c = Math.Cos(a), s = Math.Sin(a), t = 1 - c;
        return
        [
            c + k.X * k.X * t, k.X * k.Y * t - k.Z * s, k.X * k.Z * t + k.Y * s,
            k.Y * k.X * t + k.Z * s, c + k.Y * k.Y * t, k.Y * k.Z * t - k.X * s,
            k.Z * k.X * t - k.Y * s, k.Z * k.Y * t + k.X * s, c + k.Z * k.Z * t,
        ];
    }

    /// <summary>A 4 x 3 room, walls 2.5 high, two boxes on the floor, sampled on a grid of <paramref name="step"/>;
    /// floor points carry Gaussian noise of <paramref name="noise"/> in z. Floor points come first: <paramref name="floorCount"/>.</summary>
    public static float[] Room(double step, double noise, int seed, out int floorCount)
    {
        var rng = new Random(seed);
        var points = new List<V3>();
        for (var x = 0.0; x <= 4; x += step)
        for (var y = 0.0; y <= 3; y += step)
            points.Add(new V3(x, y, noise * Gaussian(rng)));
        floorCount = points.Count;
        for (var z = step; z <= 2.5; z += step)
        {
            for (var x = 0.0; x <= 4; x += step) { points.Add(new V3(x, 0, z)); points.Add(new V3(x, 3, z)); }
            for (var y = step; y < 3; y += step) { points.Add(new V3(0, y, z)); points.Add(new V3(4, y, z)); }
        }

        AddBox(points, new V3(0.5, 0.5, 0), new V3(1.3, 1.1, 0.8), step);
        AddBox(points, new V3(2.5, 1.5, 0), new V3(3.5, 2.7, 0.45), step);
        return Flatten(points);
    }

    /// <summary>Sides and top of an axis-aligned box.</summary>
    private static void AddBox(List<V3> points, V3 lo, V3 hi, double step)
    {
        for (var x = lo.X; x <= hi.X; x += step)
        for (var y = lo.Y; y <= hi.Y; y += step)
            points.Add(new V3(x, y, hi.Z));
        for (var z = lo.Z + step; z < hi.Z; z += step)
        {
            for (var x = lo.X; x <= hi.X; x += step) { points.Add(new V3(x, lo.Y, z)); points.Add(new V3(x, hi.Y, z)); }
            for (var y = lo.Y + step; y < hi.Y; y += step) { points.Add(new V3(lo.X, y, z)); points.Add(new V3(hi.X, y, z)); }
        }
    }

    public static float[] Flatten(IReadOnlyList<V3> points)
    {
        var coord = new float[3 * points.Count];
        for (var i = 0; i < points.Count; i++) (coord[3 * i], coord[3 * i + 1], coord[3 * i + 2]) = ((float)points[i].X, (float)points[i].Y, (float)points[i].Z);
        return coord;
    }

    public static float[] Transform(float[] coord, RigidTransform transform)
    {
        var result = new float[coord.Length];
        for (var i = 0; i < coord.Length / 3; i++)
        {
            var p = transform.Apply(Point(coord, i));
            (result[3 * i], result[3 * i + 1], result[3 * i + 2]) = ((float)p.X, (float)p.Y, (float)p.Z);
        }

        return result;
    }
}
