using Concerto.Ingest.Core.Profiles;
using Concerto.Ingest.Segments.Scenes;
using Concerto.Ingest.Segments.Selection;
using Concerto.Ingest.Segments.Visibility;

namespace Concerto.Ingest.Segments.Building;

/// <summary>One image of a segment: its view and its correspondences, rows of (u = column px, v = row px, index into the
/// segment's points) at the keyframe's resolution (pixel-centre convention), only for points the depth test lets the
/// view see.</summary>
/// <param name="Coverage">Share of the image's 14 x 14 pixel patches holding at least one correspondence.</param>
/// <param name="VisibleFraction">Share of the segment's points this image sees.</param>
public sealed record SegmentImage(SceneView View, float[] Correspondences, double Coverage, double VisibleFraction)
{
    public int Rows => Correspondences.Length / 3;
}

/// <summary>A training sample: the scene points visible in at least one of its views (ascending scene indices), and its
/// images.</summary>
public sealed record Segment(int[] ScenePoints, IReadOnlyList<SegmentImage> Images, ViewGroup Group)
{
    public int Points => ScenePoints.Length;
}

public static class SegmentBuilder
{
    public const int CoveragePatch = 14;

    /// <summary>Cuts the group's segment from the scene: the union of what its views see (or, for
    /// <see cref="SegmentCloud.Scene"/>, every scene point), optionally grid-sampled (the point nearest each occupied
    /// cell's centre), then each view's correspondences to the kept points.</summary>
    public static Segment Build(SceneCloud cloud, IReadOnlyList<SceneView> views, IReadOnlyList<ViewVisibility> visibility, ViewGroup group,
        double? gridSize = null, SegmentCloud extent = SegmentCloud.Views)
    {
        ArgumentNullException.ThrowIfNull(cloud);
        ArgumentNullException.ThrowIfNull(views);
        ArgumentNullException.ThrowIfNull(visibility);
        ArgumentNullException.ThrowIfNull(group);
        int[] points;
        if (extent == SegmentCloud.Scene) points = Enumerable.Range(0, cloud.Count).ToArray();
        else
        {
            var union = PointSet.Empty(cloud.Count);
            foreach (var v in group.Views) union.UnionWith(PointSet.Of(visibility[v].Points, cloud.Count));
            points = union.ToArray();
        }

        if (gridSize is { } grid) points = GridSample(cloud, points, grid);

        var local = new Dictionary<int, int>(points.Length);
        for (var i = 0; i < points.Length; i++) local[points[i]] = i;

        var images = new List<SegmentImage>(group.Views.Length);
        foreach (var v in group.Views)
        {
            var seen = visibility[v];
            var view = views[v];
            var rows = new List<float>(3 * seen.Count);
            int patchesX = (view.Intrinsics.Width + CoveragePatch - 1) / CoveragePatch, patchesY = (view.Intrinsics.Height + CoveragePatch - 1) / CoveragePatch;
            var patches = new bool[patchesX * patchesY];
            for (var j = 0; j < seen.Count; j++)
            {
                if (!local.TryGetValue(seen.Points[j], out var index)) continue;
                rows.Add(seen.U[j]);
                rows.Add(seen.V[j]);
                rows.Add(index);
                var px = Math.Clamp((int)Math.Round(seen.U[j]) / CoveragePatch, 0, patchesX - 1);
                var py = Math.Clamp((int)Math.Round(seen.V[j]) / CoveragePatch, 0, patchesY - 1);
                patches[py * patchesX + px] = true;
            }

            var count = rows.Count / 3;
            images.Add(new SegmentImage(view, [.. rows], (double)patches.Count(p => p) / patches.Length,
                points.Length == 0 ? 0 : (double)count / points.Length));
        }

        return new Segment(points, images, group);
    }

    /// <summary>One point per occupied grid cell: the one nearest the cell's centre (lowest index on ties).</summary>
    private static int[] GridSample(SceneCloud cloud, int[] points, double grid)
    {
        var best = new Dictionary<(long, long, long), (int Point, double Distance)>();
        foreach (var p in points)
        {
            var c = cloud.Point(p);
            var key = ((long)Math.Floor(c.X / grid), (long)Math.Floor(c.Y / grid), (long)Math.Floor(c.Z / grid));
            double dx = c.X - (key.Item1 + 0.5) * grid, dy = c.Y - (key.Item2 + 0.5) * grid, dz = c.Z - (key.Item3 + 0.5) * grid;
            var d = dx * dx + dy * dy + dz * dz;
            if (!best.TryGetValue(key, out var current) || d < current.Distance) best[key] = (p, d);
        }

        var kept = best.Values.Select(b => b.Point).ToArray();
        Array.Sort(kept);
        return kept;
    }
}
