using Concerto.Ingest.Reconstruction.Classic.Stereo;
using Concerto.Ingest.Reconstruction.Fusion;
using Xunit.Abstractions;

namespace Concerto.Ingest.Reconstruction.Classic.Tests.Stereo;

[Collection(StereoCollection.Name)]
public sealed class GeometricConsistencyTests(ITestOutputHelper output)
{
    [Theory]
    [InlineData(3)]
    [InlineData(4)]
    public void Apply_KeepsAccuratePixelsAndDropsWrongOnes_OnASyntheticRoom(int seed)
    {
        var room = new SyntheticStereo(seed, 20);
        int[] keyframes = [8, 10, 12];
        var settings = PlaneSweepSettings.Default;
        var frames = keyframes.Select(keyframe =>
        {
            var neighbours = StereoPlanning.SelectNeighbours(room.Poses, keyframe, NeighbourSettings.Default with { Count = 2 });
            var range = StereoPlanning.DepthRange(room.Intrinsics, room.Poses[keyframe], room.SparsePoints(keyframe, 200, seed), (0.3f, 12f));
            return PlaneSweepStereo.Estimate(room.View(keyframe), neighbours.Select(room.View).ToList(), range, settings, CancellationToken.None);
        }).ToList();
        IReadOnlyList<int>[] others = [[1, 2], [0, 2], [0, 1]];

        var checkedFrames = GeometricConsistency.Apply(frames, others, ConsistencySettings.Default, CancellationToken.None);

        for (var i = 0; i < keyframes.Length; i++)
        {
            var truth = room.Frame(keyframes[i]).Depth;
            var before = DepthStats.Compare(frames[i], truth);
            var after = DepthStats.Compare(checkedFrames[i], truth);
            output.WriteLine($"seed {seed} keyframe {keyframes[i]}: before {before}; after {after}");
            Assert.True(after.ValidFraction < before.ValidFraction, "the check must drop some pixels");
            Assert.True(after.ValidFraction > 0.4 * before.ValidFraction, "the check must keep most good pixels");
            Assert.True(after.FractionWithin5Percent > before.FractionWithin5Percent, "kept pixels must be more often right");
            Assert.All(checkedFrames[i].Depth.Zip(frames[i].Depth), p => Assert.True(p.First == 0 || p.First == p.Second));
        }

        // The existing fusion consumes the frames: its points lie on the true surface seen from the middle keyframe.
        var fusion = new VoxelFusion(new VoxelFusionSettings(0.02));
        foreach (var frame in checkedFrames)
        {
            var keep = new bool[frame.Depth.Length];
            ConfidenceFilter.Apply(frame, new ConfidenceFilterSettings(Percentile: 20), keep);
            fusion.Add(frame, keep);
        }

        var cloud = fusion.ToCloud();
        var middle = room.Poses[keyframes[1]].Inverse();
        var middleDepth = room.Frame(keyframes[1]).Depth;
        int checkedPoints = 0, onSurface = 0;
        for (var p = 0; p < cloud.Count; p++)
        {
            var c = middle.Apply(cloud.Point(p));
            if (c.Z <= 0) continue;
            var (u, v) = room.Intrinsics.Project(c);
            int ui = (int)Math.Round(u), vi = (int)Math.Round(v);
            if (ui < 0 || vi < 0 || ui >= SyntheticStereo.Width || vi >= SyntheticStereo.Height) continue;
            var truth = middleDepth[vi * SyntheticStereo.Width + ui];
            if (truth <= 0 || c.Z > truth * 1.05) continue;   // hidden from the middle view
            checkedPoints++;
            if (c.Z > truth * 0.95) onSurface++;
        }

        output.WriteLine($"fused {cloud.Count} points; {onSurface} of {checkedPoints} seen from keyframe {keyframes[1]} within 5% of the true depth");
        Assert.True(cloud.Count > 1000, $"{cloud.Count} fused points");
        Assert.True(onSurface > 0.85 * checkedPoints, $"{onSurface} of {checkedPoints} on the surface");
    }

    [Fact]
    public void Estimate_GivesTheWorkingResolution_WithBestKOfRepeatedNeighbours()
    {
        var k = Concerto.Ingest.Core.Geometry.PinholeIntrinsics.FromHorizontalFov(64, 48, 60);
        var identity = Concerto.Ingest.Core.Geometry.RigidTransform.FromAxes(new(1, 0, 0), new(0, 1, 0), new(0, 0, 1), new(0, 0, 0));
        var view = PlaneSweepStereoTests.PlaneView(k, identity, 2.0);
        var moved = PlaneSweepStereoTests.PlaneView(k, identity with { T = new(0.1, 0, 0) }, 2.0);
        var single = PlaneSweepStereo.Estimate(view, [moved], (0.5f, 8f), PlaneSweepSettings.Default, CancellationToken.None);
        DepthFrame frame = PlaneSweepStereo.Estimate(view, [moved, moved], (0.5f, 8f), PlaneSweepSettings.Default with { BestK = 1 },
            CancellationToken.None);
        Assert.Equal(64 * 48, frame.Depth.Length);
        // The best one of two identical neighbours is that neighbour: the same depths as with it alone.
        Assert.Equal(single.Depth, frame.Depth);
    }
}
