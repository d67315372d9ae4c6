using Concerto.Ingest.Core.Geometry;
using Concerto.Ingest.Synthetic.Geometry;

namespace Concerto.Ingest.Synthetic.Scenes;

/// <summary>Builds a furnished room from a seed. Furniture stands on the floor without overlaps (bounding circles
/// plus a margin) and keeps clear of an elliptical walkway around the room centre, where the camera walks; pictures
/// and doors hang on the walls without overlapping each other.</summary>
public static class SceneGenerator
{
    private const int FloorFaces = 0b101111; // every face but the bottom (-z): furniture stands on the floor
    private const int LegFaces = 0b001111;   // legs: neither the bottom nor the top (under a seat or table top)
    private const double WalkwayHalfWidth = 0.75;

    public static Scene Generate(int seed)
    {
        var rng = new Random(seed);
        double width = Uniform(rng, 4.5, 7.5), depth = Uniform(rng, 4.5, 7.5), height = Uniform(rng, 2.6, 3.2);
        double walkA = width / 2 * 0.48, walkB = depth / 2 * 0.48;
        var parts = new List<ScenePart>();
        var nextInstance = 1;
        Material NewMaterial(V3 a, V3 b, double scale, TexturePattern pattern) => new(a, b, scale, rng.Next(), pattern);

        // Room: slabs outside the interior, so rays from inside hit their inner faces; only those faces are sampled.
        const double t = 0.1;
        var floorMaterial = NewMaterial(Color(rng, 0.45, 0.30, 0.18), Color(rng, 0.75, 0.58, 0.38), 0.35, TexturePattern.Planks);
        var wallMaterial = NewMaterial(Color(rng, 0.80, 0.77, 0.70), Color(rng, 0.40, 0.42, 0.46), 0.45, TexturePattern.Noise);
        var ceilingMaterial = NewMaterial(Color(rng, 0.85, 0.85, 0.83), Color(rng, 0.50, 0.50, 0.55), 0.6, TexturePattern.Speckle);
        // Floor and ceiling span the interior only: the walls close the corners, and no strip hides under a wall.
        parts.Add(new ScenePart(new OrientedBox(new V3(0, 0, -t / 2), new V3(width / 2, depth / 2, t / 2), 0, 1 << 5),
            SemanticClass.Floor, nextInstance++, floorMaterial));
        parts.Add(new ScenePart(new OrientedBox(new V3(0, 0, height + t / 2), new V3(width / 2, depth / 2, t / 2), 0, 1 << 4),
            SemanticClass.Ceiling, nextInstance++, ceilingMaterial));
        parts.Add(new ScenePart(new OrientedBox(new V3(-width / 2 - t / 2, 0, height / 2), new V3(t / 2, depth / 2, height / 2), 0, 1 << 1),
            SemanticClass.Wall, nextInstance++, wallMaterial));
        parts.Add(new ScenePart(new OrientedBox(new V3(width / 2 + t / 2, 0, height / 2), new V3(t / 2, depth / 2, height / 2), 0, 1 << 0),
            SemanticClass.Wall, nextInstance++, wallMaterial));
        parts.Add(new ScenePart(new OrientedBox(new V3(0, -depth / 2 - t / 2, height / 2), new V3(width / 2, t / 2, height / 2), 0, 1 << 3),
            SemanticClass.Wall, nextInstance++, wallMaterial));
        parts.Add(new ScenePart(new OrientedBox(new V3(0, depth / 2 + t / 2, height / 2), new V3(width / 2, t / 2, height / 2), 0, 1 << 2),
            SemanticClass.Wall, nextInstance++, wallMaterial));

        // Furniture.
        var placed = new List<(double X, double Y, double R)>();
        var target = rng.Next(9, 15);
        for (var attempt = 0; attempt < 400 && placed.Count < target; attempt++)
        {
            var kind = (SemanticClass)rng.Next((int)SemanticClass.Table, (int)SemanticClass.Sofa + 1);
            var (sx, sy, sz) = FootprintOf(kind, rng);
            var radius = Math.Sqrt(sx * sx + sy * sy) / 2;
            double x = Uniform(rng, -width / 2 + radius + 0.05, width / 2 - radius - 0.05);
            double y = Uniform(rng, -depth / 2 + radius + 0.05, depth / 2 - radius - 0.05);
            if (double.IsNaN(x) || double.IsNaN(y)) continue;
            if (placed.Any(p => Math.Sqrt((p.X - x) * (p.X - x) + (p.Y - y) * (p.Y - y)) < p.R + radius + 0.15)) continue;
            if (DistanceToEllipse(x, y, walkA, walkB) < radius + WalkwayHalfWidth) continue;
            placed.Add((x, y, radius));
            var yaw = rng.NextDouble() * Math.PI;
            var material = NewMaterial(Color(rng), Color(rng), Uniform(rng, 0.12, 0.4), (TexturePattern)rng.Next(4));
            foreach (var shape in Build(kind, x, y, sx, sy, sz, yaw))
                parts.Add(new ScenePart(shape, kind, nextInstance, material));
            nextInstance++;
        }

        // Wall decorations: pictures and doors, 3 cm thick against the wall, not overlapping along their wall.
        var used = new List<(int Wall, double From, double To)>();
        var decorations = rng.Next(3, 7);
        for (var attempt = 0; attempt < 100 && decorations > 0; attempt++)
        {
            var isDoor = rng.NextDouble() < 0.3;
            var wall = rng.Next(4);
            var wallLength = wall < 2 ? depth : width;
            double w = isDoor ? 0.9 : Uniform(rng, 0.4, 1.2), h = isDoor ? 2.05 : Uniform(rng, 0.3, 0.9);
            var along = Uniform(rng, -wallLength / 2 + w / 2 + 0.2, wallLength / 2 - w / 2 - 0.2);
            if (used.Any(u => u.Wall == wall && along - w / 2 < u.To + 0.1 && along + w / 2 > u.From - 0.1)) continue;
            used.Add((wall, along - w / 2, along + w / 2));
            var zc = isDoor ? h / 2 : Uniform(rng, 1.3, Math.Min(2.0, height - 0.2 - h / 2));
            const double thick = 0.015;
            var (center, half) = wall switch
            {
                0 => (new V3(-width / 2 + thick, along, zc), new V3(thick, w / 2, h / 2)),
                1 => (new V3(width / 2 - thick, along, zc), new V3(thick, w / 2, h / 2)),
                2 => (new V3(along, -depth / 2 + thick, zc), new V3(w / 2, thick, h / 2)),
                _ => (new V3(along, depth / 2 - thick, zc), new V3(w / 2, thick, h / 2)),
            };
            var material = NewMaterial(Color(rng), Color(rng), Uniform(rng, 0.05, 0.2), isDoor ? TexturePattern.Planks : TexturePattern.Checker);
            // Not the back face against the wall (face -x, +x, -y, +y for walls 0..3), nor a door's bottom on the floor.
            var faces = 0b111111 & ~(1 << wall) & ~(isDoor ? 1 << 4 : 0);
            parts.Add(new ScenePart(new OrientedBox(center, half, 0, faces), isDoor ? SemanticClass.Door : SemanticClass.Picture, nextInstance++, material));
            decorations--;
        }

        var lights = new List<PointLight>();
        for (var i = 0; i < 2; i++)
            lights.Add(new PointLight(new V3(Uniform(rng, -width / 3, width / 3), Uniform(rng, -depth / 3, depth / 3), height - 0.3), 1.2));

        return new Scene(seed, width, depth, height, parts, lights, walkA, walkB);
    }

    /// <summary>Size of a piece of furniture: footprint x, y and height (balls and columns: diameter, diameter, height).</summary>
    private static (double X, double Y, double Z) FootprintOf(SemanticClass kind, Random rng)
    {
        switch (kind)
        {
            case SemanticClass.Table: return (Uniform(rng, 0.8, 1.6), Uniform(rng, 0.6, 1.0), Uniform(rng, 0.7, 0.78));
            case SemanticClass.Chair: return (0.45, 0.45, Uniform(rng, 0.85, 1.0));
            case SemanticClass.Cabinet: return (Uniform(rng, 0.5, 1.0), Uniform(rng, 0.4, 0.6), Uniform(rng, 0.8, 1.9));
            case SemanticClass.Shelf: return (Uniform(rng, 0.6, 1.2), 0.35, Uniform(rng, 1.2, 2.0));
            case SemanticClass.Crate: return (Uniform(rng, 0.3, 0.7), Uniform(rng, 0.3, 0.7), Uniform(rng, 0.3, 0.7));
            case SemanticClass.Sofa: return (Uniform(rng, 1.4, 2.2), Uniform(rng, 0.8, 1.0), Uniform(rng, 0.7, 0.9));
            case SemanticClass.Column:
            {
                var d = Uniform(rng, 0.25, 0.5);
                return (d, d, Uniform(rng, 0.6, 1.8));
            }

            default: // ball
            {
                var d = Uniform(rng, 0.2, 0.6);
                return (d, d, d);
            }
        }
    }

    /// <summary>The solids of one piece of furniture, its footprint centred at (x, y) and rotated by yaw.</summary>
    private static IEnumerable<Shape> Build(SemanticClass kind, double x, double y, double sx, double sy, double sz, double yaw)
    {
        var cos = Math.Cos(yaw);
        var sin = Math.Sin(yaw);
        OrientedBox Part(double lx, double ly, double z0, double hx, double hy, double hz, int faces = 0b111111) =>
            new(new V3(x + cos * lx - sin * ly, y + sin * lx + cos * ly, z0 + hz), new V3(hx, hy, hz), yaw, faces);

        switch (kind)
        {
            case SemanticClass.Table:
            {
                const double top = 0.04, leg = 0.035;
                yield return Part(0, 0, sz - top, sx / 2, sy / 2, top / 2);
                foreach (var (lx, ly) in Corners(sx / 2 - 0.08, sy / 2 - 0.08))
                    yield return Part(lx, ly, 0, leg, leg, (sz - top) / 2, LegFaces);
                break;
            }
            case SemanticClass.Chair:
            {
                const double seat = 0.45, leg = 0.02;
                yield return Part(0, 0, seat - 0.04, sx / 2, sy / 2, 0.02);
                yield return Part(0, sy / 2 - 0.02, seat, sx / 2, 0.02, (sz - seat) / 2);
                foreach (var (lx, ly) in Corners(sx / 2 - 0.04, sy / 2 - 0.04))
                    yield return Part(lx, ly, 0, leg, leg, (seat - 0.04) / 2, LegFaces);
                break;
            }
            case SemanticClass.Shelf:
            {
                const double board = 0.02;
                yield return Part(-sx / 2 + board, 0, 0, board, sy / 2, sz / 2, FloorFaces);
                yield return Part(sx / 2 - board, 0, 0, board, sy / 2, sz / 2, FloorFaces);
                yield return Part(0, sy / 2 - 0.005, 0, sx / 2 - 2 * board, 0.005, sz / 2, FloorFaces);
                var levels = (int)Math.Max(2, Math.Round(sz / 0.4));
                for (var i = 0; i <= levels; i++)
                    yield return Part(0, 0, i * (sz - board) / levels, sx / 2 - 2 * board, sy / 2, board / 2, i == 0 ? FloorFaces : 0b111111);
                break;
            }
            case SemanticClass.Sofa:
            {
                yield return Part(0, 0, 0, sx / 2, sy / 2, 0.22, FloorFaces);
                // Back and arms rest on the base: their bottoms are hidden.
                yield return Part(0, sy / 2 - 0.1, 0.44, sx / 2, 0.1, (sz - 0.44) / 2, FloorFaces);
                yield return Part(-sx / 2 + 0.1, -0.1, 0.44, 0.1, sy / 2 - 0.1, 0.1, FloorFaces);
                yield return Part(sx / 2 - 0.1, -0.1, 0.44, 0.1, sy / 2 - 0.1, 0.1, FloorFaces);
                break;
            }
            case SemanticClass.Column:
                yield return new VerticalCylinder(x, y, sx / 2, 0, sz);
                break;
            case SemanticClass.Ball:
                yield return new Sphere(new V3(x, y, sx / 2), sx / 2);
                break;
            default: // cabinet, crate
                yield return Part(0, 0, 0, sx / 2, sy / 2, sz / 2, FloorFaces);
                break;
        }
    }

    private static IEnumerable<(double, double)> Corners(double hx, double hy) => [(-hx, -hy), (hx, -hy), (-hx, hy), (hx, hy)];

    private static double DistanceToEllipse(double x, double y, double a, double b)
    {
        var best = double.MaxValue;
        for (var i = 0; i < 128; i++)
        {
            var angle = i * Math.PI / 64;
            best = Math.Min(best, Math.Sqrt(Math.Pow(x - a * Math.Cos(angle), 2) + Math.Pow(y - b * Math.Sin(angle), 2)));
        }

        return best;
    }

    private static double Uniform(Random rng, double min, double max) => max < min ? double.NaN : min + rng.NextDouble() * (max - min);

    private static V3 Color(Random rng) => new(rng.NextDouble(), rng.NextDouble(), rng.NextDouble());

    private static V3 Color(Random rng, double r, double g, double b)
    {
        const double spread = 0.08;
        return new V3(Math.Clamp(r + Uniform(rng, -spread, spread), 0, 1), Math.Clamp(g + Uniform(rng, -spread, spread), 0, 1),
            Math.Clamp(b + Uniform(rng, -spread, spread), 0, 1));
    }
}
