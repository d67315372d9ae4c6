using Concerto.Ingest.Core.Geometry;
using Concerto.Ingest.Core.Profiles;
using Concerto.Ingest.Segments.Building;
using Concerto.Ingest.Segments.Scenes;
using Concerto.Ingest.Segments.Selection;
using Concerto.Ingest.Segments.Visibility;
using Concerto.Ingest.Synthetic.Capture;
using Concerto.Ingest.Synthetic.Rendering;
using Concerto.Ingest.Synthetic.Scenes;

namespace Concerto.Ingest.Segments.Tests.Building;

/// <summary>A synthetic room's ground-truth surface samples as the scene cloud, keyframes along its camera path, and the
/// rendered ground-truth depth of each keyframe to judge the depth test by.</summary>
public sealed class SyntheticSegmentScene
{
    public const int Seed = 2;
    public const int Width = 320;
    public const int Height = 240;

    public SyntheticSegmentScene()
    {
        Scene = SceneGenerator.Generate(Seed);
        Cloud = VoxelCloud(GroundTruthCloud.Sample(Scene, 1_500_000, Seed), Voxel);
        var path = new CameraPath(Scene, Seed);
        var intrinsics = PinholeIntrinsics.FromHorizontalFov(Width, Height, 70);
        var renderer = new FrameRenderer(Scene, intrinsics);
        var views = new List<SceneView>();
        var depth = new List<float[]>();
        for (var k = 0; k < 16; k++)
        {
            var time = 0.75 * k;
            var pose = path.PoseAt(time);
            var frame = new RenderedFrame(Width, Height);
            renderer.Render(pose, frame);
            views.Add(new SceneView((int)Math.Round(time * 30), time, pose, intrinsics, $"{k}.jpg"));
            depth.Add(frame.Depth);
        }

        Views = views;
        TruthDepth = depth;
        Settings = new VisibilitySettings(PointSpacing: Voxel);
        Visibility = Views.Select(v => ViewVisibility.Compute(Cloud, v, Settings)).ToList();
    }

    /// <summary>Like a fused cloud: at most one point per 2 cm voxel (here the first dense surface sample to land in it,
    /// so every point lies exactly on a surface and keeps its labels).</summary>
    public const double Voxel = 0.02;

    public Scene Scene { get; }
    public SceneCloud Cloud { get; }
    public IReadOnlyList<SceneView> Views { get; }
    public IReadOnlyList<float[]> TruthDepth { get; }
    public VisibilitySettings Settings { get; }
    public IReadOnlyList<ViewVisibility> Visibility { get; }

    private static SceneCloud VoxelCloud(GroundTruthCloud dense, double voxel)
    {
        var seen = new HashSet<(long, long, long)>();
        var kept = new List<int>();
        for (var i = 0; i < dense.Count; i++)
        {
            var p = dense.Point(i);
            if (seen.Add(((long)Math.Floor(p.X / voxel), (long)Math.Floor(p.Y / voxel), (long)Math.Floor(p.Z / voxel)))) kept.Add(i);
        }

        float[] Pick3(float[] a) => kept.SelectMany(i => new[] { a[3 * i], a[3 * i + 1], a[3 * i + 2] }).ToArray();
        return new SceneCloud(Pick3(dense.Coord), kept.SelectMany(i => new[] { dense.Color[3 * i], dense.Color[3 * i + 1], dense.Color[3 * i + 2] }).ToArray(),
            Pick3(dense.Normal), kept.Select(i => dense.Segment[i]).ToArray(), kept.Select(i => dense.Instance[i]).ToArray());
    }
}

public sealed class SegmentGeometryTests(SyntheticSegmentScene scene) : IClassFixture<SyntheticSegmentScene>
{
    private static readonly SegmentSettings Covisible = new(Views: ViewSelectionMode.Covisibility, MinCovisibility: 0.2, MinBaseline: 0.3, MaxOverlap: 0.6, MinPoints: 2000);

    [Fact]
    public void Correspondences_ReprojectIntoTheirPixels_AndNoHiddenPointGetsOne()
    {
        var groups = ViewGroupSelector.Select(scene.Views, scene.Visibility, scene.Cloud.Count, Covisible);
        Assert.NotEmpty(groups);
        long rows = 0, hidden = 0;
        foreach (var group in groups)
        {
            var segment = SegmentBuilder.Build(scene.Cloud, scene.Views, scene.Visibility, group);
            foreach (var image in segment.Images)
            {
                var view = image.View;
                var toCamera = view.CameraToWorld.Inverse();
                var depth = scene.TruthDepth[scene.Views.ToList().IndexOf(view)];
                for (var r = 0; r < image.Rows; r++)
                {
                    float u = image.Correspondences[3 * r], v = image.Correspondences[3 * r + 1];
                    var point = scene.Cloud.Point(segment.ScenePoints[(int)image.Correspondences[3 * r + 2]]);
                    var camera = toCamera.Apply(point);
                    var (pu, pv) = view.Intrinsics.Project(camera);
                    Assert.True(Math.Abs(pu - u) < 1 && Math.Abs(pv - v) < 1, $"({u}, {v}) vs projection ({pu}, {pv})");

                    // Hidden = behind the true surface at every pixel around its own (a point on a silhouette may
                    // fall a fraction of a pixel either side of the edge).
                    var nearest = NeighbourhoodMaxDepth(depth, (int)Math.Round(u), (int)Math.Round(v));
                    if (camera.Z > nearest + Tolerance(camera.Z)) hidden++;
                    rows++;
                }
            }
        }

        Assert.True(rows > 50_000, $"{rows} correspondences");
        Assert.Equal(0, hidden);
    }

    [Fact]
    public void DepthTest_KeepsMostPointsOnTheVisibleSurface()
    {
        for (var k = 0; k < scene.Views.Count; k += 5)
        {
            var view = scene.Views[k];
            var toCamera = view.CameraToWorld.Inverse();
            var kept = PointSet.Of(scene.Visibility[k].Points, scene.Cloud.Count);
            int visible = 0, found = 0;
            for (var i = 0; i < scene.Cloud.Count; i++)
            {
                var camera = toCamera.Apply(scene.Cloud.Point(i));
                if (camera.Z <= 0.05) continue;
                var (pu, pv) = view.Intrinsics.Project(camera);
                int iu = (int)Math.Round(pu), iv = (int)Math.Round(pv);
                if (iu < 1 || iv < 1 || iu >= SyntheticSegmentScene.Width - 1 || iv >= SyntheticSegmentScene.Height - 1) continue;
                // On the surface the pixel shows, away from silhouettes (the whole 3x3 neighbourhood agrees).
                var d = scene.TruthDepth[k];
                var max = NeighbourhoodMaxDepth(d, iu, iv);
                var min = NeighbourhoodMinDepth(d, iu, iv);
                if (Math.Abs(camera.Z - d[iv * SyntheticSegmentScene.Width + iu]) > 0.005 || max - min > 0.05) continue;
                visible++;
                if (kept.Contains(i)) found++;
            }

            Assert.True(visible > 5000, $"view {k}: {visible} visible points");
            // Squares one spacing wide also cover a little of what lies just beyond a silhouette (measured: 93-99% kept).
            Assert.True(found > 0.9 * visible, $"view {k}: the depth test kept {found} of {visible} visible points");
        }
    }

    [Fact]
    public void CovisibilityGroups_MeetEveryBound()
    {
        var groups = ViewGroupSelector.Select(scene.Views, scene.Visibility, scene.Cloud.Count, Covisible);
        var sets = scene.Visibility.Select(v => PointSet.Of(v.Points, scene.Cloud.Count)).ToList();
        var unions = new List<PointSet>();
        foreach (var group in groups)
        {
            Assert.Equal(4, group.Views.Length);
            Assert.Equal(group.Views.Order(), group.Views);
            for (var i = 0; i < 4; i++)
            for (var j = i + 1; j < 4; j++)
            {
                int a = group.Views[i], b = group.Views[j];
                var shared = (double)sets[a].IntersectionCount(sets[b]) / Math.Min(sets[a].Count, sets[b].Count);
                Assert.True(shared >= Covisible.MinCovisibility, $"views {a},{b} share {shared:P0}");
                Assert.True((scene.Views[a].Centre - scene.Views[b].Centre).Length >= Covisible.MinBaseline);
            }

            var union = PointSet.Empty(scene.Cloud.Count);
            foreach (var v in group.Views) union.UnionWith(sets[v]);
            foreach (var earlier in unions)
                Assert.True((double)earlier.IntersectionCount(union) / union.Count <= Covisible.MaxOverlap);
            unions.Add(union);
        }

        Assert.True(groups.Count >= 2, $"{groups.Count} groups");
    }

    [Fact]
    public void PoseGapGroups_FollowTheRealEstate10KRule()
    {
        var settings = new SegmentSettings(Views: ViewSelectionMode.PoseGap, MinFrameGap: 15, MaxFrameGap: 60, MinPoseScore: 5, MaxPoseScore: 60,
            MaxOverlap: 1, MinPoints: 1);
        var groups = ViewGroupSelector.Select(scene.Views, scene.Visibility, scene.Cloud.Count, settings);
        Assert.NotEmpty(groups);
        foreach (var group in groups)
        {
            for (var i = 1; i < group.Views.Length; i++)
            {
                SceneView previous = scene.Views[group.Views[i - 1]], next = scene.Views[group.Views[i]];
                Assert.InRange(next.FrameIndex - previous.FrameIndex, 15, 60);
                Assert.InRange(ViewGroupSelector.PoseScore(previous.CameraToWorld, next.CameraToWorld), 5, 60);
            }
        }
    }

    /// <summary>Sliding groups: a stretch of the walk, each member sharing the minimum covisibility with the previous one
    /// and the minimum baseline from it, taking the first view that fits (none between two members would also have
    /// fitted); on this 12 s walk they give more segments than the spread-out groups.</summary>
    [Fact]
    public void SlidingGroups_TakeTheFirstFittingViewsForward_AndGiveMoreSegments()
    {
        var sliding = Covisible with { Views = ViewSelectionMode.Sliding };
        var groups = ViewGroupSelector.Select(scene.Views, scene.Visibility, scene.Cloud.Count, sliding);
        var sets = scene.Visibility.Select(v => PointSet.Of(v.Points, scene.Cloud.Count)).ToList();
        double Shared(int a, int b) => (double)sets[a].IntersectionCount(sets[b]) / Math.Min(sets[a].Count, sets[b].Count);
        bool Fits(int c, int previous) => Shared(c, previous) >= sliding.MinCovisibility &&
                                          (scene.Views[c].Centre - scene.Views[previous].Centre).Length >= sliding.MinBaseline;
        foreach (var group in groups)
        {
            Assert.Equal(4, group.Views.Length);
            for (var i = 1; i < 4; i++)
            {
                Assert.True(Fits(group.Views[i], group.Views[i - 1]), $"view {group.Views[i]} of [{string.Join(',', group.Views)}]");
                for (var skipped = group.Views[i - 1] + 1; skipped < group.Views[i]; skipped++)
                    Assert.False(Fits(skipped, group.Views[i - 1]), $"view {skipped} fitted before {group.Views[i]} in [{string.Join(',', group.Views)}]");
            }
        }

        var spread = ViewGroupSelector.Select(scene.Views, scene.Visibility, scene.Cloud.Count, Covisible);
        Assert.True(groups.Count > spread.Count, $"sliding {groups.Count} groups, spread {spread.Count}");
    }

    /// <summary>segment.cloud "scene": every segment holds the whole scene cloud and its correspondences are exactly the
    /// views' depth-tested visible points, at the same pixels as in the per-view segment.</summary>
    [Fact]
    public void SceneCloudSegments_CarryTheWholeScene_WithTheSameCorrespondences()
    {
        var group = ViewGroupSelector.Select(scene.Views, scene.Visibility, scene.Cloud.Count, Covisible)[0];
        var local = SegmentBuilder.Build(scene.Cloud, scene.Views, scene.Visibility, group);
        var whole = SegmentBuilder.Build(scene.Cloud, scene.Views, scene.Visibility, group, extent: SegmentCloud.Scene);
        Assert.Equal(Enumerable.Range(0, scene.Cloud.Count), whole.ScenePoints);
        Assert.True(local.Points < whole.Points, $"{local.Points} of {whole.Points}");
        for (var i = 0; i < group.Views.Length; i++)
        {
            Assert.Equal(scene.Visibility[group.Views[i]].Count, whole.Images[i].Rows);
            var inScene = Enumerable.Range(0, whole.Images[i].Rows)
                .Select(r => (whole.Images[i].Correspondences[3 * r], whole.Images[i].Correspondences[3 * r + 1], (int)whole.Images[i].Correspondences[3 * r + 2]));
            var inSegment = Enumerable.Range(0, local.Images[i].Rows)
                .Select(r => (local.Images[i].Correspondences[3 * r], local.Images[i].Correspondences[3 * r + 1], local.ScenePoints[(int)local.Images[i].Correspondences[3 * r + 2]]));
            Assert.Equal(inSegment, inScene);
        }
    }

    [Fact]
    public void GridSampling_KeepsOnePointPerCell_AndCorrespondencesFollow()
    {
        var group = ViewGroupSelector.Select(scene.Views, scene.Visibility, scene.Cloud.Count, Covisible)[0];
        var full = SegmentBuilder.Build(scene.Cloud, scene.Views, scene.Visibility, group);
        var sampled = SegmentBuilder.Build(scene.Cloud, scene.Views, scene.Visibility, group, gridSize: 0.1);

        Assert.True(sampled.Points < full.Points / 3, $"{sampled.Points} of {full.Points}");
        var cells = sampled.ScenePoints.Select(p => scene.Cloud.Point(p)).Select(c => (Math.Floor(c.X / 0.1), Math.Floor(c.Y / 0.1), Math.Floor(c.Z / 0.1)));
        Assert.Equal(sampled.Points, cells.Distinct().Count());
        Assert.All(sampled.Images, image => Assert.All(Enumerable.Range(0, image.Rows),
            r => Assert.InRange((int)image.Correspondences[3 * r + 2], 0, sampled.Points - 1)));
        Assert.All(sampled.Images, image => Assert.InRange(image.Coverage, 0.05, 1));
    }

    /// <summary>What the depth test cannot tell apart: surfaces closer together than its tolerance (1.5 point spacings +
    /// 1% of depth), such as a picture 1-2 cm proud of the wall behind it, whose covered wall points this ground-truth
    /// cloud contains (a fused cloud never does: nobody saw them).</summary>
    private double Tolerance(double depth) => scene.Settings.DepthTolerance * scene.Settings.PointSpacing + scene.Settings.RelativeTolerance * depth;

    private static float NeighbourhoodMaxDepth(float[] depth, int u, int v) => Neighbourhood(depth, u, v).Max();

    private static float NeighbourhoodMinDepth(float[] depth, int u, int v) => Neighbourhood(depth, u, v).Min();

    private static IEnumerable<float> Neighbourhood(float[] depth, int u, int v)
    {
        for (var y = Math.Max(0, v - 1); y <= Math.Min(SyntheticSegmentScene.Height - 1, v + 1); y++)
        for (var x = Math.Max(0, u - 1); x <= Math.Min(SyntheticSegmentScene.Width - 1, u + 1); x++)
            yield return depth[y * SyntheticSegmentScene.Width + x];
    }
}
