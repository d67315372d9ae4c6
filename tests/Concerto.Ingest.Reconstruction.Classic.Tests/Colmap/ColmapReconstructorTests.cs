using Concerto.Ingest.Reconstruction.Classic.Colmap;
using Concerto.Ingest.Reconstruction.Classic.Tests.Sfm;
using Concerto.Ingest.Reconstruction.Classic.Tests.Stereo;
using Concerto.Ingest.Reconstruction.Evaluation;
using Concerto.Ingest.Reconstruction.Fusion;
using Concerto.Ingest.Reconstruction.Pipeline;
using Xunit.Abstractions;

namespace Concerto.Ingest.Reconstruction.Classic.Tests.Colmap;

/// <summary>The `colmap` reconstructor with the real COLMAP (Debian's, installed by scripts/setup.sh) on a rendered room.</summary>
[Collection(StereoCollection.Name)]
public sealed class ColmapReconstructorTests(ITestOutputHelper output)
{
    [Fact]
    public async Task Reconstruct_WithColmapsCameras_RecoversCamerasAndDepth_OfASyntheticRoom()
    {
        var colmap = ColmapReconstructor.Find(null);
        Assert.True(colmap is not null, "colmap is not on PATH: run scripts/setup.sh, which installs Debian's colmap");
        using var sequence = new SyntheticSequence(seed: 1, keyframes: 16, keyframeFps: 4);
        var keyframes = sequence.Images.Select((path, i) => new KeyframeRef(i, i / 4.0, path)).ToList();
        var reconstructor = new ColmapReconstructor(colmap, ClassicSettings.Default, fovDegrees: null);
        var frames = new List<(ReconstructedView View, DepthFrame Frame)>();
        await foreach (var item in reconstructor.ReconstructAsync(keyframes, CancellationToken.None)) frames.Add(item);

        var report = reconstructor.Report!;
        Assert.StartsWith("COLMAP 3", report.Version, StringComparison.Ordinal);
        Assert.Equal(frames.Count, report.Registered);
        Assert.True(report.Registered >= 14, $"registered {report.Registered} of 16");
        var truth = frames.Select(f => sequence.Truth[f.View.FrameIndex].T).ToList();
        var alignment = ReconstructionEvaluation.AlignCameras(frames.Select(f => f.View.CameraToWorld.T).ToList(), truth);
        var extent = truth.Max(a => truth.Max(b => (a - b).Length));
        output.WriteLine($"{report.Version}: registered {report.Registered}/16, {report.SparsePoints} points, camera RMS {alignment.RmsPositionError * 1000:0.0} mm " +
                         $"(extent {extent:0.00} m), focal {report.FocalPixels:0.0} px estimated, SfM {report.SfmSeconds:0.0} s, stereo {report.StereoSeconds:0.0} s");
        Assert.True(alignment.RmsPositionError < 0.03 * extent, $"camera RMS {alignment.RmsPositionError:0.000} m of extent {extent:0.00} m");
        var valid = frames.Sum(f => f.Frame.Depth.Count(DepthFrame.IsValidDepth));
        Assert.True(valid > 0.3 * frames.Count * 320 * 240, $"only {valid} pixels with depth");
    }

    [Fact]
    public async Task Reconstruct_NamesTheFailingStep_WhenColmapFails()
    {
        using var sequence = new SyntheticSequence(seed: 2, keyframes: 4, keyframeFps: 4);
        var keyframes = sequence.Images.Select((path, i) => new KeyframeRef(i, i / 4.0, path)).ToList();
        // /bin/false stands for a COLMAP that fails at once.
        var reconstructor = new ColmapReconstructor("/bin/false", ClassicSettings.Default, fovDegrees: null);
        var e = await Assert.ThrowsAsync<InvalidOperationException>(async () =>
        {
            await foreach (var _ in reconstructor.ReconstructAsync(keyframes, CancellationToken.None)) { }
        });
        Assert.Contains("colmap feature_extractor failed", e.Message, StringComparison.Ordinal);
        Assert.Null(ColmapReconstructor.Find("/nowhere/colmap"));
    }
}
