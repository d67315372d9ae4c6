using System.Diagnostics;
using System.Text.Json;
using Concerto.Ingest.Core.Captures;
using Concerto.Ingest.Core.Media;
using Concerto.Ingest.Core.Pipeline;
using Concerto.Ingest.Core.Profiles;
using Concerto.Ingest.Jobs.Hosting;
using Concerto.Ingest.Media.Ffmpeg;
using Concerto.Ingest.Reconstruction.Classic;
using Concerto.Ingest.Reconstruction.Classic.Colmap;
using Concerto.Ingest.Reconstruction.Fusion;
using Concerto.Ingest.Reconstruction.Onnx;
using Concerto.Ingest.Reconstruction.Pipeline;
using Concerto.Ingest.Reconstruction.Posed;
using Concerto.Ingest.Reconstruction.Vggt;
using Concerto.Ingest.Storage.Artifacts;
using Concerto.Ingest.Storage.Catalog;
using Hangfire;
using Hangfire.Server;
using Microsoft.Extensions.Logging;

namespace Concerto.Ingest.Jobs.Stages;

/// <summary>Stage 3: lift the run's keyframes to cameras and depth (posed capture, VGGT, or the weights-free classic
/// reconstructor when neither applies), fuse them into a levelled, normalised scene cloud, and store the cloud (npy, PLY),
/// cameras and metrics. A run that cannot be reconstructed (method none, no keyframes, keyframes the classic reconstructor
/// cannot register) ends the stage with the reason recorded instead of a scene. The segment stage follows.</summary>
public sealed partial class ReconstructJob(
    IngestCatalog catalog, StageRunner runner, StageLedger ledger, KeyframeIndex keyframes, ReconstructionIndex index, IArtifactStore artifacts,
    CaptureReader captures, FfmpegTools tools, ReconstructionOptions options, ILogger<ReconstructJob> logger)
{
    [Queue(Stage.Reconstruct)]
    [JobDisplayName("reconstruct source {0}")]
    [AutomaticRetry(Attempts = StageRetry.Attempts, DelaysInSeconds = [5, 30, 120])]
    public Task RunAsync(long sourceId, PerformContext? context, CancellationToken cancellationToken) =>
        runner.RunAsync(sourceId, Stage.Reconstruct, after: Stage.Decode, context, work => RunStageAsync(work, work.CancellationToken), cancellationToken);

    private async Task<string?> RunStageAsync(StageWork work, CancellationToken cancellationToken)
    {
        var source = work.Source;
        var profile = ProfileDocument.Parse(await catalog.GetProfileJsonAsync(source.ProfileHash, cancellationToken).ConfigureAwait(false),
            $"profile {source.ProfileHash}").Profile.Reconstruct ?? ReconstructSettings.Default;
        var frames = new List<KeyframeRef>();
        foreach (var k in await keyframes.ListKeyframesAsync(work.RunId, cancellationToken).ConfigureAwait(false))
            frames.Add(new KeyframeRef(k.FrameIndex, k.Time, await artifacts.LocalPathAsync(k.ArtifactKey, cancellationToken).ConfigureAwait(false)));
        var (reconstructor, model, skipped) = Choose(source.Path, profile, frames.Count);
        using (model)
        {
            if (reconstructor is not null)
            {
                try
                {
                    return await ReconstructAsync(work, reconstructor, frames, profile, cancellationToken).ConfigureAwait(false);
                }
                catch (NotReconstructableException e)
                {
                    skipped = $"{reconstructor.Method}: {e.Message}";
                }
            }

            LogSkipped(logger, source.Path, skipped!);
            return await index.CommitAsync(work.RunId, work.JobId, null, [], JsonSerializer.Serialize(new { skipped }), cancellationToken)
                .ConfigureAwait(false);
        }
    }

    private async Task<string?> ReconstructAsync(StageWork work, IReconstructor reconstructor, List<KeyframeRef> frames,
        ReconstructSettings profile, CancellationToken cancellationToken)
    {
        var (runId, jobId, staging) = (work.RunId, work.JobId, work.Staging);
        var clock = Stopwatch.StartNew();
        var settings = ReconstructionSettings.Default with
        {
            VoxelSize = profile.VoxelSize,
            Confidence = new ConfidenceFilterSettings(Percentile: profile.ConfidencePercentile),
            Normalisation = new SceneNormalisationSettings(profile.TargetZRange),
        };
        ReconstructionResult result;
        var progress = new StageProgress(ledger, runId, Stage.Reconstruct, jobId);
        await using (progress.ConfigureAwait(false))
        {
            progress.Report((0, frames.Count));
            result = await ReconstructionPipeline.RunAsync(reconstructor, frames, settings, cancellationToken,
                new Progress<int>(n => progress.Report((n, frames.Count))), (view, frame) => CloudFiles.WriteFrame(staging, view, frame)).ConfigureAwait(false);
        }

        var cameras = result.Views.Select(v => new CameraRow(v.FrameIndex, v.Time, v.CameraToWorld.ToMatrix4(), v.Intrinsics.Fx, v.Intrinsics.Fy,
            v.Intrinsics.Cx, v.Intrinsics.Cy, v.Intrinsics.Width, v.Intrinsics.Height)).ToList();
        CloudFiles.WriteNpy(staging, result.Cloud);
        CloudFiles.WritePly(Path.Combine(staging, "scene.ply"), result.Cloud);
        await File.WriteAllTextAsync(Path.Combine(staging, "cameras.json"), JsonSerializer.Serialize(cameras), cancellationToken).ConfigureAwait(false);

        var metrics = JsonSerializer.Serialize(new
        {
            result.Method,
            result.Metrics.Frames,
            result.Metrics.Points,
            result.Metrics.PointsUnprojected,
            result.Metrics.NormalFallbacks,
            result.Metrics.FloorFound,
            result.Metrics.FloorTiltDegrees,
            result.Metrics.FloorFailure,
            result.Metrics.Scale,
            confidenceP50 = result.Metrics.PerFrame.Select(f => f.ConfidenceP50).ToArray(),
            windows = (reconstructor as VggtKeyframeReconstructor)?.WindowAlignments.Select(w => new { w.Window, w.Pairs, w.WeightedRmsResidual }).ToArray(),
            classic = (reconstructor as ClassicReconstructor)?.Report,
            colmap = (reconstructor as ColmapReconstructor)?.Report,
            seconds = Math.Round(clock.Elapsed.TotalSeconds, 3),
        });
        return await work.PublishAsync(async key =>
        {
            var row = new ReconstructionRow(result.Method, result.ModelHash, result.Cloud.Count, result.ToScene.Scale, result.Metrics.FloorFound, key, metrics);
            var previous = await index.CommitAsync(runId, jobId, row, cameras, metrics, cancellationToken).ConfigureAwait(false);
            LogReconstructed(logger, runId, result.Method, result.Cloud.Count, clock.Elapsed.TotalSeconds);
            return previous;
        }).ConfigureAwait(false);
    }

    /// <summary>posed when a capture.json beside the video describes it; vggt when a model is set; else classic. Method
    /// none, or no keyframes: no reconstructor (with why).</summary>
    private (IReconstructor? Reconstructor, IDisposable? Model, string? Skipped) Choose(string videoPath, ReconstructSettings profile, int keyframeCount)
    {
        if (profile.Method == ReconstructMethod.None) return (null, null, "the profile's reconstruct.method is none");
        if (keyframeCount == 0) return (null, null, "no keyframes to reconstruct");
        var folder = Path.GetDirectoryName(Path.GetFullPath(videoPath))!;
        var capture = Path.Combine(folder, CaptureManifest.FileName);
        var manifest = File.Exists(capture) ? CaptureReader.Load(folder) : null;
        var described = manifest?.Video == Path.GetFileName(videoPath);
        if (profile.Method is ReconstructMethod.Posed or ReconstructMethod.Auto && described)
            return (new PosedReconstructor(folder, manifest!, captures), null, null);
        if (profile.Method == ReconstructMethod.Posed)
            throw new BadInputException($"{videoPath}: the profile asks for the posed reconstructor, but no {CaptureManifest.FileName} beside it describes this video.");

        var modelPath = string.IsNullOrWhiteSpace(profile.ModelPath) ? options.VggtModel : profile.ModelPath;
        if (profile.Method is ReconstructMethod.Vggt or ReconstructMethod.Auto && !string.IsNullOrWhiteSpace(modelPath))
        {
            var model = VggtModel.Open(new VggtSettings
            {
                ModelPath = modelPath,
                Device = OnnxModelFile.ParseDevice(options.Device),
                UsePointMap = profile.PointSource == PointSource.PointMap,
            }, logger);
            return (new VggtKeyframeReconstructor(model, profile.WindowSize, profile.Overlap), model, null);
        }

        if (profile.Method == ReconstructMethod.Vggt)
            throw new BadInputException($"{videoPath}: the profile asks for VGGT, but no model is set (reconstruct.modelPath or Concerto:Reconstruction:VggtModel).");

        // Metadata: a capture's intrinsics give the field of view; otherwise structure from motion estimates it.
        var fov = profile.FovDegrees ?? (profile.Focal == FocalSource.Metadata && described
            ? 2 * Math.Atan(manifest!.Width / (2 * manifest.Intrinsics.Fx)) * 180 / Math.PI
            : null);
        if (profile.Method == ReconstructMethod.Colmap)
        {
            var colmap = ColmapReconstructor.Find(options.ColmapPath)
                         ?? throw new BadInputException($"{videoPath}: the profile asks for the colmap reconstructor, but " +
                                                        (string.IsNullOrWhiteSpace(options.ColmapPath) ? "no `colmap` is on PATH (scripts/setup.sh installs Debian's)" : $"{options.ColmapPath} (Concerto:Reconstruction:ColmapPath) does not exist") + ".");
            return (new ColmapReconstructor(colmap, ClassicSettings.Default, fov, logger: logger), null, null);
        }

        if (profile.Method == ReconstructMethod.Auto) LogClassicFallback(logger, videoPath);
        return (new ClassicReconstructor(ClassicSettings.Default, fov, new TrackingVideo(videoPath, tools), logger), null, null);
    }

    [LoggerMessage(EventId = 2201, Level = LogLevel.Information, Message = "Reconstructed run {RunId} ({Method}): {Points} points in {Seconds:0.00} s")]
    private static partial void LogReconstructed(ILogger logger, long runId, string method, int points, double seconds);

    [LoggerMessage(EventId = 2203, Level = LogLevel.Information,
        Message = "{Path}: no capture.json describes it and no VGGT model is set: reconstructing with the weights-free classic reconstructor (structure from motion + multi-view stereo, CPU)")]
    private static partial void LogClassicFallback(ILogger logger, string path);

    [LoggerMessage(EventId = 2202, Level = LogLevel.Warning, Message = "Reconstruct skipped for {Path}: {Reason}")]
    private static partial void LogSkipped(ILogger logger, string path, string reason);
}
