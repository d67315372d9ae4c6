using System.Diagnostics;
using System.Text.Json;
using Concerto.Ingest.Core.Pipeline;
using Concerto.Ingest.Core.Profiles;
using Concerto.Ingest.Jobs.Hosting;
using Concerto.Ingest.Media.Ffmpeg;
using Concerto.Ingest.Reconstruction.Classic;
using Concerto.Ingest.Reconstruction.Classic.Colmap;
using Concerto.Ingest.Reconstruction.Fusion;
using Concerto.Ingest.Reconstruction.Pipeline;
using Concerto.Ingest.Reconstruction.Posed;
using Concerto.Ingest.Reconstruction.Vggt;
using Concerto.Ingest.Storage.Artifacts;
using Concerto.Ingest.Storage.Catalog;
using Hangfire;
using Hangfire.Server;
using Microsoft.Extensions.Logging;

namespace Concerto.Ingest.Jobs.Stages;

/// <summary>Stage 3: lift the run's keyframes to cameras and depth (the reconstructor <see cref="ReconstructorChoice"/>
/// picks: posed capture, VGGT, COLMAP's cameras with our stereo, or the weights-free classic), fuse them into a levelled,
/// normalised scene cloud, and store the cloud (npy, PLY), cameras and metrics. A run that cannot be reconstructed (method
/// none, no keyframes, keyframes no candidate can register) ends the stage with the reason recorded instead of a scene.
/// The segment stage follows.</summary>
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
        using var plan = ReconstructorChoice.Plan(source.Path, profile, frames.Count,
            new ReconstructorSources(options.VggtModel, options.Device, options.ColmapPath, captures, tools), logger);
        var skipped = plan.Skipped;
        foreach (var reconstructor in plan.Candidates)
        {
            try
            {
                return await ReconstructAsync(work, reconstructor, frames, profile, cancellationToken).ConfigureAwait(false);
            }
            catch (NotReconstructableException e)
            {
                // The next candidate (classic after COLMAP) may still lift it; the last one's reason is recorded.
                skipped = $"{reconstructor.Method}: {e.Message}";
                foreach (var written in new[] { "depth", "confidence" }.Select(f => Path.Combine(work.Staging, f)).Where(Directory.Exists))
                    Directory.Delete(written, recursive: true);
                if (reconstructor != plan.Candidates[^1]) LogTryingNext(logger, source.Path, skipped);
            }
        }

        LogSkipped(logger, source.Path, skipped!);
        return await index.CommitAsync(work.RunId, work.JobId, null, [], JsonSerializer.Serialize(new { skipped }), cancellationToken)
            .ConfigureAwait(false);
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

    [LoggerMessage(EventId = 2201, Level = LogLevel.Information, Message = "Reconstructed run {RunId} ({Method}): {Points} points in {Seconds:0.00} s")]
    private static partial void LogReconstructed(ILogger logger, long runId, string method, int points, double seconds);

    [LoggerMessage(EventId = 2205, Level = LogLevel.Warning, Message = "{Path}: {Reason}; trying the next reconstructor")]
    private static partial void LogTryingNext(ILogger logger, string path, string reason);

    [LoggerMessage(EventId = 2202, Level = LogLevel.Warning, Message = "Reconstruct skipped for {Path}: {Reason}")]
    private static partial void LogSkipped(ILogger logger, string path, string reason);
}
