using System.Diagnostics;
using Concerto.Ingest.Core.Geometry;
using Concerto.Ingest.Reconstruction.Classic.Stereo;
using Concerto.Ingest.Reconstruction.Fusion;
using Xunit.Abstractions;

namespace Concerto.Ingest.Reconstruction.Classic.Tests.Stereo;

[Collection(StereoCollection.Name)]
public sealed class PatchMatchStereoTests(ITestOutputHelper output)
{
    [Theory]
    [InlineData(1.3)]
    [InlineData(3.1)]
    public void Estimate_FindsThePlaneDepth_WhenNeighboursAreTranslatedInFrontOfAFrontoParallelPlane(double planeDepth)
    {
        var k = PinholeIntrinsics.FromHorizontalFov(160, 120, 60);
        RigidTransform At(double x, double y) => RigidTransform.FromAxes(new V3(1, 0, 0), new V3(0, 1, 0), new V3(0, 0, 1), new V3(x, y, 0));
        var reference = PlaneSweepStereoTests.PlaneView(k, At(0, 0), planeDepth);
        StereoView[] neighbours = [PlaneSweepStereoTests.PlaneView(k, At(0.1, 0), planeDepth), PlaneSweepStereoTests.PlaneView(k, At(-0.05, 0.08), planeDepth)];
        var frame = PatchMatchStereo.Estimate(reference, neighbours, (0.5f, 10f), PatchMatchSettings.Default, CancellationToken.None);

        Assert.Equal(160, frame.Width);
        var valid = frame.Depth.Where(DepthFrame.IsValidDepth).ToArray();
        var errors = valid.Select(d => Math.Abs(d - planeDepth) / planeDepth).Order().ToArray();
        output.WriteLine($"plane at {planeDepth} m: valid {valid.Length / (double)frame.Depth.Length:P1}, median rel error {errors[errors.Length / 2]:P3}");
        Assert.True(valid.Length > 0.7 * frame.Depth.Length, $"{valid.Length} valid of {frame.Depth.Length}");
        Assert.True(errors[errors.Length / 2] < 0.005, $"median relative error {errors[errors.Length / 2]:P2}");
    }

    [Fact]
    public void Estimate_GivesTheSameDepth_RunToRun()
    {
        var k = PinholeIntrinsics.FromHorizontalFov(96, 72, 60);
        RigidTransform At(double x) => RigidTransform.FromAxes(new V3(1, 0, 0), new V3(0, 1, 0), new V3(0, 0, 1), new V3(x, 0, 0));
        var reference = PlaneSweepStereoTests.PlaneView(k, At(0), 2.0);
        StereoView[] neighbours = [PlaneSweepStereoTests.PlaneView(k, At(0.1), 2.0), PlaneSweepStereoTests.PlaneView(k, At(-0.1), 2.0)];
        var settings = PatchMatchSettings.Default with { Iterations = 2 };
        var first = PatchMatchStereo.Estimate(reference, neighbours, (0.5f, 10f), settings, CancellationToken.None);
        var second = PatchMatchStereo.Estimate(reference, neighbours, (0.5f, 10f), settings, CancellationToken.None);
        Assert.Equal(first.Depth, second.Depth);
        Assert.Equal(first.Confidence, second.Confidence);
        var other = PatchMatchStereo.Estimate(reference, neighbours, (0.5f, 10f), settings with { Seed = 2 }, CancellationToken.None);
        Assert.NotEqual(first.Depth, other.Depth);
    }

    [Theory]
    [InlineData(1, 8)]
    [InlineData(2, 15)]
    public void Estimate_MatchesTrueDepth_BetterThanThePlaneSweep_OnASyntheticRoom(int seed, int keyframe)
    {
        var room = new SyntheticStereo(seed, 24);
        var neighbours = StereoPlanning.SelectNeighbours(room.Poses, keyframe, NeighbourSettings.Default);
        var range = StereoPlanning.DepthRange(room.Intrinsics, room.Poses[keyframe], room.SparsePoints(keyframe, 200, seed), (0.3f, 12f));
        var reference = room.View(keyframe);
        var views = neighbours.Select(room.View).ToList();
        var clock = Stopwatch.StartNew();
        var frame = PatchMatchStereo.Estimate(reference, views, range, PatchMatchSettings.Default, CancellationToken.None);
        var seconds = clock.Elapsed.TotalSeconds;
        var stats = DepthStats.Compare(frame, room.Frame(keyframe).Depth);
        clock.Restart();
        var sweep = DepthStats.Compare(PlaneSweepStereo.Estimate(reference, views, range, PlaneSweepSettings.Default, CancellationToken.None), room.Frame(keyframe).Depth);
        output.WriteLine($"seed {seed} keyframe {keyframe}: PatchMatch {seconds:0.00} s; {stats}");
        output.WriteLine($"  plane sweep {clock.Elapsed.TotalSeconds:0.00} s; {sweep}");
        Assert.True(stats.ValidFraction > sweep.ValidFraction, $"{stats} against {sweep}");
        Assert.True(stats.FractionWithin5Percent * stats.ValidFraction > sweep.FractionWithin5Percent * sweep.ValidFraction, $"{stats} against {sweep}");
    }
}
