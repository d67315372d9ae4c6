using System.Diagnostics;
using System.Text.Json;
using Concerto.Ingest.Core.Pipeline;
using Concerto.Ingest.Core.Profiles;
using Concerto.Ingest.Reconstruction.Classic;
using Concerto.Ingest.Reconstruction.Pipeline;
using Concerto.Ingest.Storage.Artifacts;
using Concerto.Ingest.Storage.Catalog;
using Hangfire;
using Hangfire.Server;
using Microsoft.Extensions.Logging;

namespace Concerto.Ingest.Jobs.Stages;

/// <summary>Stage 3 on the queue: reads the run's keyframes and profile, lets <see cref="SceneReconstruction"/> lift
/// them to cameras and a scene cloud in the staging folder, then publishes the folder (with cameras.json) and commits the
/// scene and its cameras; a run that cannot be reconstructed commits the reason instead. The segment stage follows.</summary>
public sealed partial class ReconstructJob(
    IngestCatalog catalog, StageRunner runner, StageLedger ledger, KeyframeIndex keyframes, ReconstructionIndex index, IArtifactStore artifacts,
    SceneReconstruction reconstruction, ILogger<ReconstructJob> logger)
{
    /// <summary>The scene's cameras as the index stores them, beside the cloud.</summary>
    public const string CamerasFile = "cameras.json";

    [Queue(Stage.Reconstruct)]
    [JobDisplayName("reconstruct source {0}")]
    [AutomaticRetry(Attempts = StageRetry.Attempts, DelaysInSeconds = [5, 30, 120])]
    public Task RunAsync(long sourceId, PerformContext? context, CancellationToken cancellationToken) =>
        runner.RunAsync(sourceId, Stage.Reconstruct, after: Stage.Decode, context, work => RunStageAsync(work, work.CancellationToken), cancellationToken);

    private async Task<string?> RunStageAsync(StageWork work, CancellationToken cancellationToken)
    {
        var (source, runId, jobId) = (work.Source, work.RunId, work.JobId);
        var clock = Stopwatch.StartNew();
        var profile = ProfileDocument.Parse(await catalog.GetProfileJsonAsync(source.ProfileHash, cancellationToken).ConfigureAwait(false),
            $"profile {source.ProfileHash}").Profile.Reconstruct ?? ReconstructSettings.Default;
        var frames = new List<KeyframeRef>();
        foreach (var k in await keyframes.ListKeyframesAsync(runId, cancellationToken).ConfigureAwait(false))
            frames.Add(new KeyframeRef(k.FrameIndex, k.Time, await artifacts.LocalPathAsync(k.ArtifactKey, cancellationToken).ConfigureAwait(false)));

        SceneOutcome outcome;
        var progress = new StageProgress(ledger, runId, Stage.Reconstruct, jobId);
        await using (progress.ConfigureAwait(false))
            outcome = await reconstruction.RunAsync(source.Path, profile, frames, work.Staging, progress, cancellationToken).ConfigureAwait(false);
        if (outcome.Result is not { } result)
            return await index.CommitAsync(runId, jobId, null, [], outcome.MetricsJson, cancellationToken).ConfigureAwait(false);

        var cameras = result.Views.Select(v => new CameraRow(v.FrameIndex, v.Time, v.CameraToWorld.ToMatrix4(), v.Intrinsics.Fx, v.Intrinsics.Fy,
            v.Intrinsics.Cx, v.Intrinsics.Cy, v.Intrinsics.Width, v.Intrinsics.Height)).ToList();
        await File.WriteAllTextAsync(Path.Combine(work.Staging, CamerasFile), JsonSerializer.Serialize(cameras), cancellationToken).ConfigureAwait(false);
        return await work.PublishAsync(async key =>
        {
            var row = new ReconstructionRow(result.Method, result.ModelHash, result.Cloud.Count, result.ToScene.Scale, result.Metrics.FloorFound, key,
                outcome.MetricsJson);
            var previous = await index.CommitAsync(runId, jobId, row, cameras, outcome.MetricsJson, cancellationToken).ConfigureAwait(false);
            LogReconstructed(logger, runId, result.Method, result.Cloud.Count, clock.Elapsed.TotalSeconds);
            return previous;
        }).ConfigureAwait(false);
    }

    [LoggerMessage(EventId = 2201, Level = LogLevel.Information, Message = "Reconstructed run {RunId} ({Method}): {Points} points in {Seconds:0.00} s")]
    private static partial void LogReconstructed(ILogger logger, long runId, string method, int points, double seconds);
}
