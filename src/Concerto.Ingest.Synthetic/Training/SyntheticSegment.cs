using Concerto.Ingest.Core.Geometry;
using Concerto.Ingest.Synthetic.Rendering;
using Concerto.Ingest.Synthetic.Scenes;

namespace Concerto.Ingest.Synthetic.Training;

/// <summary>One image of a synthetic segment: its camera, its rendered frame, and its correspondences as rows of
/// (u = column px, v = row px, segment point index), one per pixel that sees a segment point, u and v being that
/// pixel's centre (integer coordinates are pixel centres, as <see cref="PinholeIntrinsics"/>).</summary>
/// <param name="Visible">Segment points that pass the depth test, ascending (several may share a pixel; the rows keep the
/// nearest).</param>
/// <param name="Coverage">Share of the image's 14 x 14 pixel blocks holding a correspondence (the pipeline's coverage).</param>
internal sealed record SyntheticImage(RigidTransform CameraToWorld, PinholeIntrinsics Intrinsics, RenderedFrame Frame, float[] Rows, int[] Visible,
    double Coverage)
{
    public int Correspondences => Rows.Length / 3;
}

/// <summary>A segment cut from a sampled room: the indices of its points in the room sample (ascending) and its images.</summary>
internal sealed record SyntheticSegment(GroundTruthCloud Room, int[] Points, IReadOnlyList<SyntheticImage> Images);

/// <summary>Cuts segments from synthetic rooms and films them: a 2-3 m box region, cameras around it looking at it,
/// ray-cast frames, and depth-tested correspondences.</summary>
internal static class SyntheticSegmenter
{
    private const int Attempts = 12;
    private const double CoverageBlock = 14;

    public static SyntheticSegment Cut(Scene scene, GroundTruthCloud room, Random rng, SyntheticTrainingSettings settings, CancellationToken cancellationToken)
    {
        var points = Region(scene, room, rng);
        var target = Centroid(room, points);
        var intrinsics = PinholeIntrinsics.FromHorizontalFov(settings.ImageWidth, settings.ImageHeight, settings.FieldOfViewDegrees);
        var renderer = new FrameRenderer(scene, intrinsics);
        var start = rng.NextDouble() * 2 * Math.PI;
        var images = new List<SyntheticImage>(settings.ImagesPerSegment);
        for (var i = 0; i < settings.ImagesPerSegment; i++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var look = target + new V3(Uniform(rng, -0.2, 0.2), Uniform(rng, -0.2, 0.2), Uniform(rng, -0.1, 0.1));
            var pose = Camera(scene, look, start + i * 2 * Math.PI / settings.ImagesPerSegment, rng);
            var frame = new RenderedFrame(intrinsics.Width, intrinsics.Height);
            renderer.Render(pose, frame);
            images.Add(Project(room, points, pose, intrinsics, frame));
        }

        return new SyntheticSegment(room, points, images);
    }

    /// <summary>The points of a box 2-3 m across (x and y) around a furniture point or a floor point, up to 0.3 m below
    /// the ceiling; of up to <see cref="Attempts"/> boxes, the first holding at least three classes (each at least 1% of
    /// its points) and 200 points, else the one with most classes.</summary>
    private static int[] Region(Scene scene, GroundTruthCloud room, Random rng)
    {
        var furniture = new List<int>();
        var floor = new List<int>();
        for (var i = 0; i < room.Count; i++)
        {
            if (room.Segment[i] >= (int)SemanticClass.Table) furniture.Add(i);
            else if (room.Segment[i] == (int)SemanticClass.Floor) floor.Add(i);
        }

        var top = scene.Height - 0.3;
        int[]? best = null;
        var bestScore = double.NegativeInfinity;
        var members = new List<int>();
        var perClass = new int[SyntheticTeacher.Classes];
        for (var attempt = 0; attempt < Attempts; attempt++)
        {
            var pool = (attempt % 2 == 0 && furniture.Count > 0) || floor.Count == 0 ? furniture : floor;
            var anchor = pool.Count > 0 ? room.Point(pool[rng.Next(pool.Count)]) : room.Point(rng.Next(room.Count));
            double hx = Uniform(rng, 1.0, 1.5), hy = Uniform(rng, 1.0, 1.5);
            members.Clear();
            Array.Clear(perClass);
            for (var i = 0; i < room.Count; i++)
            {
                var p = room.Point(i);
                if (Math.Abs(p.X - anchor.X) > hx || Math.Abs(p.Y - anchor.Y) > hy || p.Z > top) continue;
                members.Add(i);
                perClass[room.Segment[i]]++;
            }

            var enough = Math.Max(10, members.Count / 100);
            var classes = perClass.Count(c => c >= enough);
            var score = classes * 1e9 + members.Count;
            if (score > bestScore)
            {
                (best, bestScore) = ([.. members], score);
            }

            if (classes >= 3 && members.Count >= 200) break;
        }

        return best!;
    }

    private static V3 Centroid(GroundTruthCloud room, int[] points)
    {
        double x = 0, y = 0, z = 0;
        foreach (var i in points)
        {
            x += room.Coord[3 * i];
            y += room.Coord[3 * i + 1];
            z += room.Coord[3 * i + 2];
        }

        var n = Math.Max(1, points.Length);
        return new V3(x / n, y / n, z / n);
    }

    /// <summary>A camera 1.0-2.5 m (horizontally) from the target at 1.3-1.7 m height, near the bearing
    /// <paramref name="bearing"/> first, then anywhere: inside the room, at least 0.15 m from any surface, with a clear
    /// line of sight over at least 70% of the way to the target (else the clearest candidate, else a point of the
    /// walkway, which furniture keeps clear of). Looks at the target, no roll.</summary>
    private static RigidTransform Camera(Scene scene, V3 target, double bearing, Random rng)
    {
        V3? best = null;
        var bestClear = double.NegativeInfinity;
        for (var attempt = 0; attempt < 48; attempt++)
        {
            var angle = attempt < 16 ? bearing + Uniform(rng, -0.6, 0.6) : Uniform(rng, 0, 2 * Math.PI);
            var distance = Uniform(rng, 1.0, 2.5);
            var position = new V3(target.X + distance * Math.Cos(angle), target.Y + distance * Math.Sin(angle), Uniform(rng, 1.3, 1.7));
            if (Math.Abs(position.X) > scene.Width / 2 - 0.2 || Math.Abs(position.Y) > scene.Depth / 2 - 0.2) continue;
            if (scene.IsInsideMatter(position) || scene.DistanceToSurface(position) < 0.15) continue;
            var clear = scene.Trace(position, target - position, out var hit) ? Math.Min(1, hit.T) : 1;
            if (clear > bestClear) (best, bestClear) = (position, clear);
            if (clear >= 0.7) break;
        }

        if (best is not { } eye)
        {
            var (a, b) = scene.Walkway;
            eye = new V3(a * Math.Cos(bearing), b * Math.Sin(bearing), 1.5);
        }

        return LookAt(eye, target);
    }

    /// <summary>Camera-to-world (OpenCV axes: x right, y down, z forward) at <paramref name="eye"/> looking at
    /// <paramref name="target"/> with a level horizon.</summary>
    internal static RigidTransform LookAt(V3 eye, V3 target)
    {
        var forward = (target - eye).Normalized;
        var side = forward.Cross(V3.UnitZ);
        var right = side.Length < 1e-6 ? new V3(1, 0, 0) : side.Normalized;
        var down = forward.Cross(right);
        return RigidTransform.FromAxes(right, down, forward, eye);
    }

    /// <summary>Depth-tests the segment's points against the frame's ray-cast depth at their (rounded) pixel, with a
    /// tolerance for the half-pixel offset on slanted surfaces (1 cm + 0.2% of the depth + 0.75 px of footprint times the
    /// tangent of the viewing angle, capped at 10); per pixel keeps the nearest passing point as its correspondence.</summary>
    private static SyntheticImage Project(GroundTruthCloud room, int[] points, RigidTransform pose, PinholeIntrinsics k, RenderedFrame frame)
    {
        int w = k.Width, h = k.Height;
        var toCamera = pose.Inverse();
        var eye = pose.T;
        var nearest = new int[w * h];
        var nearestDepth = new double[w * h];
        Array.Fill(nearest, -1);
        var visible = new List<int>();
        for (var j = 0; j < points.Length; j++)
        {
            var i = points[j];
            var world = room.Point(i);
            var camera = toCamera.Apply(world);
            if (!(camera.Z > 0.05)) continue;
            var (pu, pv) = k.Project(camera);
            var iu = (int)Math.Round(pu);
            var iv = (int)Math.Round(pv);
            if (iu < 0 || iv < 0 || iu >= w || iv >= h) continue;
            var pixel = iv * w + iu;
            double surface = frame.Depth[pixel];
            if (!(surface > 0)) continue;

            var ray = (world - eye).Normalized;
            var cos = Math.Abs(ray.X * room.Normal[3 * i] + ray.Y * room.Normal[3 * i + 1] + ray.Z * room.Normal[3 * i + 2]);
            var tan = Math.Min(10, Math.Sqrt(Math.Max(0, 1 - cos * cos)) / Math.Max(cos, 1e-3));
            var tolerance = 0.01 + 0.002 * camera.Z + 0.75 * camera.Z / Math.Min(k.Fx, k.Fy) * tan;
            if (camera.Z > surface + tolerance) continue;

            visible.Add(j);
            if (nearest[pixel] < 0 || camera.Z < nearestDepth[pixel]) (nearest[pixel], nearestDepth[pixel]) = (j, camera.Z);
        }

        int blocksX = (int)Math.Ceiling(w / CoverageBlock), blocksY = (int)Math.Ceiling(h / CoverageBlock);
        var blocks = new bool[blocksX * blocksY];
        var rows = new List<float>();
        for (var pixel = 0; pixel < nearest.Length; pixel++)
        {
            if (nearest[pixel] < 0) continue;
            int u = pixel % w, v = pixel / w;
            rows.Add(u);
            rows.Add(v);
            rows.Add(nearest[pixel]);
            blocks[(int)(v / CoverageBlock) * blocksX + (int)(u / CoverageBlock)] = true;
        }

        return new SyntheticImage(pose, k, frame, [.. rows], [.. visible], (double)blocks.Count(b => b) / blocks.Length);
    }

    private static double Uniform(Random rng, double from, double to) => from + (to - from) * rng.NextDouble();
}
