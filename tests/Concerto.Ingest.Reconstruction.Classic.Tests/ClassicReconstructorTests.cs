using System.Diagnostics;
using Concerto.Ingest.Core.Geometry;
using Concerto.Ingest.Reconstruction.Classic.Sfm;
using Concerto.Ingest.Reconstruction.Classic.Stereo;
using Concerto.Ingest.Reconstruction.Evaluation;
using Concerto.Ingest.Reconstruction.Fusion;
using Concerto.Ingest.Reconstruction.Pipeline;
using Concerto.Ingest.Reconstruction.Classic.Tests.Sfm;
using Concerto.Ingest.Reconstruction.Classic.Tests.Stereo;
using Xunit.Abstractions;

namespace Concerto.Ingest.Reconstruction.Classic.Tests;

[Collection(StereoCollection.Name)]
public sealed class ClassicReconstructorTests(ITestOutputHelper output)
{
    [Fact]
    public async Task Reconstruct_RecoversCamerasAndDepth_OfASyntheticRoom()
    {
        using var sequence = new SyntheticSequence(seed: 1, keyframes: 16, keyframeFps: 4);
        var keyframes = sequence.Images.Select((path, i) => new KeyframeRef(i, i / 4.0, path)).ToList();
        var reconstructor = new ClassicReconstructor(ClassicSettings.Default, fovDegrees: 70);
        var clock = Stopwatch.StartNew();
        var frames = new List<(ReconstructedView View, DepthFrame Frame)>();
        await foreach (var item in reconstructor.ReconstructAsync(keyframes, CancellationToken.None)) frames.Add(item);

        var report = reconstructor.Report!;
        Assert.Equal(frames.Count, report.Registered);
        Assert.True(report.Registered >= 14, $"registered {report.Registered} of 16");
        Assert.Equal(16, report.Registered + report.UnregisteredFrames.Count);

        // Cameras: a similarity onto the truth leaves a small position error.
        var truth = frames.Select(f => sequence.Truth[f.View.FrameIndex].T).ToList();
        var alignment = ReconstructionEvaluation.AlignCameras(frames.Select(f => f.View.CameraToWorld.T).ToList(), truth);
        var extent = truth.Max(a => truth.Max(b => (a - b).Length));
        Assert.True(alignment.RmsPositionError < 0.03 * extent, $"camera RMS {alignment.RmsPositionError:0.000} m of extent {extent:0.00} m");

        // Depth: in truth units (the alignment's scale), most valid pixels lie within 5% of the rendered depth.
        var scale = alignment.EstimatedToTruth.Scale;
        var (within, valid) = (0L, 0L);
        foreach (var (view, frame) in frames)
        {
            Assert.Equal((320, 240), (frame.Width, frame.Height));
            var trueDepth = sequence.Depth[view.FrameIndex];
            for (var i = 0; i < frame.Depth.Length; i++)
            {
                if (!DepthFrame.IsValidDepth(frame.Depth[i]) || trueDepth[i] <= 0) continue;
                valid++;
                if (Math.Abs(frame.Depth[i] * scale - trueDepth[i]) <= 0.05 * trueDepth[i]) within++;
            }
        }

        var coverage = valid / (double)(frames.Count * 320 * 240);
        output.WriteLine($"registered {report.Registered}/16, camera RMS {alignment.RmsPositionError * 1000:0.0} mm (extent {extent:0.00} m), " +
                         $"depth within 5%: {within / (double)valid:P1} of {coverage:P1} valid pixels, focal {report.FocalPixels:0.0} px, " +
                         $"peak RSS {System.Diagnostics.Process.GetCurrentProcess().PeakWorkingSet64 / 1e9:0.00} GB, SfM {report.SfmSeconds:0.0} s, stereo {report.StereoSeconds:0.0} s ({report.StereoSeconds / frames.Count:0.00} s/keyframe), total {clock.Elapsed.TotalSeconds:0.0} s");
        Assert.True(coverage > 0.3, $"only {coverage:P1} of pixels have depth");
        Assert.True(within > 0.85 * valid, $"{within / (double)valid:P1} of depth within 5%");
    }

    [Fact]
    public async Task Reconstruct_SaysWhy_WhenTheCameraDoesNotMove()
    {
        using var sequence = new SyntheticSequence(seed: 2, keyframes: 6, keyframeFps: 1000);   // 6 ms apart: no parallax
        var keyframes = sequence.Images.Select((path, i) => new KeyframeRef(i, i / 1000.0, path)).ToList();
        var reconstructor = new ClassicReconstructor(ClassicSettings.Default, fovDegrees: null);
        var e = await Assert.ThrowsAsync<NotReconstructableException>(async () =>
        {
            await foreach (var _ in reconstructor.ReconstructAsync(keyframes, CancellationToken.None)) { }
        });
        Assert.Contains("parallax", e.Message, StringComparison.Ordinal);

        e = await Assert.ThrowsAsync<NotReconstructableException>(async () =>
        {
            await foreach (var _ in reconstructor.ReconstructAsync(keyframes.Take(2).ToList(), CancellationToken.None)) { }
        });
        Assert.Contains("at least 3", e.Message, StringComparison.Ordinal);
    }
}
