using System.Diagnostics;
using Concerto.Ingest.Core.Geometry;
using Concerto.Ingest.Reconstruction.Classic.Stereo;
using Concerto.Ingest.Reconstruction.Fusion;
using Xunit.Abstractions;

namespace Concerto.Ingest.Reconstruction.Classic.Tests.Stereo;

[Collection(StereoCollection.Name)]
public sealed class PlaneSweepStereoTests(ITestOutputHelper output)
{
    [Fact]
    public void CostCurves_AreNearZeroAtEveryDepth_WhenTheNeighbourIsTheSameCamera()
    {
        var k = PinholeIntrinsics.FromHorizontalFov(96, 64, 60);
        var view = PlaneView(k, RigidTransform.FromAxes(new V3(1, 0, 0), new V3(0, 1, 0), new V3(0, 0, 1), V3.Zero), 2.0);
        var settings = PlaneSweepSettings.Default with { Window = 5 };
        float[] depths = [0.5f, 1f, 2f, 4f, 8f];
        var costs = PlaneSweepStereo.CostCurves(view, [view], depths, settings);
        Assert.Equal(depths.Length * 96 * 64, costs.Length);
        // Away from the border (where a window reaching outside the image is no match at other depths anyway).
        var worst = 0f;
        for (var d = 0; d < depths.Length; d++)
        for (var v = 3; v < 61; v++)
        for (var u = 3; u < 93; u++)
            worst = Math.Max(worst, costs[(d * 64 + v) * 96 + u]);
        Assert.True(worst < 1e-3f, $"worst cost {worst}");
    }

    [Theory]
    [InlineData(1.3)]
    [InlineData(3.1)]
    public void Estimate_FindsThePlaneDepth_WhenNeighboursAreTranslatedInFrontOfAFrontoParallelPlane(double planeDepth)
    {
        var k = PinholeIntrinsics.FromHorizontalFov(160, 120, 60);
        RigidTransform At(double x, double y) => RigidTransform.FromAxes(new V3(1, 0, 0), new V3(0, 1, 0), new V3(0, 0, 1), new V3(x, y, 0));
        var reference = PlaneView(k, At(0, 0), planeDepth);
        StereoView[] neighbours = [PlaneView(k, At(0.1, 0), planeDepth), PlaneView(k, At(-0.05, 0.08), planeDepth)];
        var frame = PlaneSweepStereo.Estimate(reference, neighbours, (0.5f, 10f), PlaneSweepSettings.Default, CancellationToken.None);

        Assert.Equal(160, frame.Width);
        Assert.Same(k, frame.Intrinsics);
        var valid = frame.Depth.Where(DepthFrame.IsValidDepth).ToArray();
        Assert.True(valid.Length > 0.7 * frame.Depth.Length, $"{valid.Length} valid of {frame.Depth.Length}");
        var errors = valid.Select(d => Math.Abs(d - planeDepth) / planeDepth).Order().ToArray();
        output.WriteLine($"plane at {planeDepth} m: valid {valid.Length / (double)frame.Depth.Length:P1}, median rel error {errors[errors.Length / 2]:P3}");
        Assert.True(errors[errors.Length / 2] < 0.01, $"median relative error {errors[errors.Length / 2]:P2}");
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    public void Estimate_MatchesTrueDepth_OnASyntheticRoom(int seed)
    {
        var room = new SyntheticStereo(seed, 24);
        foreach (var keyframe in new[] { 8, 15 })
        {
            var neighbours = StereoPlanning.SelectNeighbours(room.Poses, keyframe, NeighbourSettings.Default);
            Assert.InRange(neighbours.Count, 2, 4);
            var range = StereoPlanning.DepthRange(room.Intrinsics, room.Poses[keyframe], room.SparsePoints(keyframe, 200, seed), (0.3f, 12f));
            var reference = room.View(keyframe);
            var views = neighbours.Select(room.View).ToList();   // rendered before the clock starts
            var clock = Stopwatch.StartNew();
            var frame = PlaneSweepStereo.Estimate(reference, views, range, PlaneSweepSettings.Default, CancellationToken.None);
            var seconds = clock.Elapsed.TotalSeconds;
            var stats = DepthStats.Compare(frame, room.Frame(keyframe).Depth);
            output.WriteLine($"seed {seed} keyframe {keyframe} neighbours [{string.Join(", ", neighbours)}] range {range.Near:0.00}-{range.Far:0.00} m: " +
                $"{seconds:0.00} s; {stats}");
            Assert.True(stats.ValidFraction > 0.4, stats.ToString());
            Assert.True(stats.MedianErrorHighConfidence < 0.05, stats.ToString());
            Assert.True(stats.MedianErrorHighConfidence < stats.MedianErrorLowConfidence, stats.ToString());
        }
    }

    /// <summary>A camera looking straight at a textured plane z = <paramref name="planeDepth"/> (world), exact pixels.</summary>
    internal static StereoView PlaneView(PinholeIntrinsics k, RigidTransform pose, double planeDepth)
    {
        var rgb = new byte[3 * k.Width * k.Height];
        for (var v = 0; v < k.Height; v++)
        for (var u = 0; u < k.Width; u++)
        {
            var ray = pose.Rotate(k.Ray(u, v));
            var s = (planeDepth - pose.T.Z) / ray.Z;
            var p = pose.T + ray * s;
            var i = 3 * (v * k.Width + u);
            for (var c = 0; c < 3; c++) rgb[i + c] = (byte)Math.Clamp(Math.Round(Texture(p.X, p.Y, c)), 0, 255);
        }

        return new StereoView(k.Width, k.Height, rgb, k, pose);
    }

    private static readonly (double Fx, double Fy, double Phase)[] Waves = MakeWaves();

    private static (double, double, double)[] MakeWaves()
    {
        var rng = new Random(7);
        return Enumerable.Range(0, 24).Select(_ =>
        {
            var angle = rng.NextDouble() * 2 * Math.PI;
            var frequency = 2 + rng.NextDouble() * 10;   // cycles per metre: a few pixels per cycle or more at these depths
            return (frequency * Math.Cos(angle), frequency * Math.Sin(angle), rng.NextDouble() * 2 * Math.PI);
        }).ToArray();
    }

    private static double Texture(double x, double y, int channel)
    {
        double sum = 0;
        for (var w = channel; w < Waves.Length; w += 1)
            sum += Math.Sin(2 * Math.PI * (Waves[w].Fx * x + Waves[w].Fy * y) + Waves[w].Phase + channel);
        return 128 + 100 * sum / Math.Sqrt(Waves.Length);
    }
}

/// <summary>Relative depth error of an estimate against the truth, split at the median confidence.</summary>
internal sealed record DepthStats(double ValidFraction, double MedianError, double MedianErrorHighConfidence, double MedianErrorLowConfidence,
    double FractionWithin5Percent)
{
    public static DepthStats Compare(DepthFrame estimate, float[] truth)
    {
        var pixels = new List<(float Error, float Confidence)>();
        var withTruth = 0;
        for (var i = 0; i < truth.Length; i++)
        {
            if (truth[i] <= 0) continue;
            withTruth++;
            if (!DepthFrame.IsValidDepth(estimate.Depth[i])) continue;
            pixels.Add((Math.Abs(estimate.Depth[i] - truth[i]) / truth[i], estimate.Confidence![i]));
        }

        if (pixels.Count < 2) return new DepthStats(0, double.NaN, double.NaN, double.NaN, 0);
        var byConfidence = pixels.OrderBy(p => p.Confidence).ToList();
        var half = byConfidence.Count / 2;
        static double Median(IEnumerable<float> values)
        {
            var sorted = values.Order().ToArray();
            return sorted[sorted.Length / 2];
        }

        return new DepthStats((double)pixels.Count / withTruth, Median(pixels.Select(p => p.Error)),
            Median(byConfidence.Skip(half).Select(p => p.Error)), Median(byConfidence.Take(half).Select(p => p.Error)),
            pixels.Count(p => p.Error < 0.05) / (double)pixels.Count);
    }

    public override string ToString() =>
        $"valid {ValidFraction:P1}, median rel error {MedianError:P2} (high-confidence half {MedianErrorHighConfidence:P2}, " +
        $"low {MedianErrorLowConfidence:P2}), within 5% {FractionWithin5Percent:P1}";
}
