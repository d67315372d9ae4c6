using Concerto.Ingest.Reconstruction.Classic.Stereo;
using Concerto.Ingest.Reconstruction.Fusion;
using TorchSharp;
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

        var live = DisposeScopeManager.Statistics.ThreadTotalLiveCount;
        var checkedFrames = GeometricConsistency.Apply(frames, others, ConsistencySettings.Default, CancellationToken.None);
        Assert.Equal(live, DisposeScopeManager.Statistics.ThreadTotalLiveCount);

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
    }

    [Fact]
    public void Estimate_LeavesNoLiveTensors()
    {
        var k = Concerto.Ingest.Core.Geometry.PinholeIntrinsics.FromHorizontalFov(64, 48, 60);
        var identity = Concerto.Ingest.Core.Geometry.RigidTransform.FromAxes(new(1, 0, 0), new(0, 1, 0), new(0, 0, 1), new(0, 0, 0));
        var view = PlaneSweepStereoTests.PlaneView(k, identity, 2.0);
        var moved = PlaneSweepStereoTests.PlaneView(k, identity with { T = new(0.1, 0, 0) }, 2.0);
        _ = PlaneSweepStereo.Estimate(view, [moved], (0.5f, 8f), PlaneSweepSettings.Default, CancellationToken.None);
        var live = DisposeScopeManager.Statistics.ThreadTotalLiveCount;
        DepthFrame frame = PlaneSweepStereo.Estimate(view, [moved, moved], (0.5f, 8f), PlaneSweepSettings.Default with { BestK = 1 },
            CancellationToken.None);
        Assert.Equal(live, DisposeScopeManager.Statistics.ThreadTotalLiveCount);
        Assert.Equal(64 * 48, frame.Depth.Length);
    }
}
