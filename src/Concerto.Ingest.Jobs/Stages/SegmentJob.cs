using System.Diagnostics;
using System.Text.Json;
using Concerto.Ingest.Core.Geometry;
using Concerto.Ingest.Core.Pipeline;
using Concerto.Ingest.Core.Profiles;
using Concerto.Ingest.Formats.Datasets;
using Concerto.Ingest.Formats.PointClouds;
using Concerto.Ingest.Segments.Pipeline;
using Concerto.Ingest.Segments.Scenes;
using Concerto.Ingest.Storage.Artifacts;
using Concerto.Ingest.Storage.Catalog;
using Hangfire;
using Hangfire.Server;
using Microsoft.Extensions.Logging;

namespace Concerto.Ingest.Jobs.Stages;

/// <summary>Stage 4: cut the run's scene into training segments (1 point cloud + 4 keyframes with depth-tested
/// correspondences, labels when the source has label images), write them in the Pointcept layout and index them with
/// binary COPY. The featurize stage follows.</summary>
public sealed partial class SegmentJob(
    IngestCatalog catalog, StageRunner runner, StageLedger ledger, KeyframeIndex keyframes, ReconstructionIndex reconstructions, SegmentIndex index,
    IArtifactStore artifacts, ILogger<SegmentJob> logger)
{
    [Queue(Stage.Segment)]
    [JobDisplayName("segment source {0}")]
    [AutomaticRetry(Attempts = StageRetry.Attempts, DelaysInSeconds = [5, 30, 120])]
    public Task RunAsync(long sourceId, PerformContext? context, CancellationToken cancellationToken) =>
        runner.RunAsync(sourceId, Stage.Segment, after: Stage.Reconstruct, context, work => RunStageAsync(work, work.CancellationToken), cancellationToken);

    private async Task<string?> RunStageAsync(StageWork work, CancellationToken cancellationToken)
    {
        var source = work.Source;
        var profile = ProfileDocument.Parse(await catalog.GetProfileJsonAsync(source.ProfileHash, cancellationToken).ConfigureAwait(false),
            $"profile {source.ProfileHash}").Profile;
        var scene = await reconstructions.GetAsync(work.RunId, cancellationToken).ConfigureAwait(false);
        if (scene is null)
            return await index.CommitAsync(work.RunId, work.JobId, null, [], JsonSerializer.Serialize(new { skipped = "no reconstructed scene" }),
                cancellationToken).ConfigureAwait(false);

        var keyPrefix = $"{(await catalog.GetVideoHashAsync(source.VideoId!.Value, cancellationToken).ConfigureAwait(false))[..16]}-{source.ProfileHash[..8]}";
        return await SegmentAsync(work, keyPrefix, scene.Value.Scene, scene.Value.Cameras, profile, cancellationToken).ConfigureAwait(false);
    }

    private async Task<string?> SegmentAsync(StageWork work, string keyPrefix, ReconstructionRow scene, IReadOnlyList<CameraRow> cameras,
        PipelineProfile profile, CancellationToken cancellationToken)
    {
        var (runId, jobId, staging, videoPath) = (work.RunId, work.JobId, work.Staging, work.Source.Path);
        var clock = Stopwatch.StartNew();
        var settings = profile.Segment ?? SegmentSettings.Default;
        var cloud = LoadCloud(await artifacts.LocalPathAsync(scene.ArtifactKey, cancellationToken).ConfigureAwait(false));
        var frames = (await keyframes.ListKeyframesAsync(runId, cancellationToken).ConfigureAwait(false)).ToDictionary(k => k.FrameIndex);
        var views = new List<SceneView>();
        foreach (var c in cameras.Where(c => frames.ContainsKey(c.FrameIndex)))
            views.Add(ToView(c, frames[c.FrameIndex], await artifacts.LocalPathAsync(frames[c.FrameIndex].ArtifactKey, cancellationToken).ConfigureAwait(false)));
        var labels = CaptureLabels.Find(videoPath, views);
        var spacing = (profile.Reconstruct ?? ReconstructSettings.Default).VoxelSize * scene.Scale;

        SegmentationResult result;
        var progress = new StageProgress(ledger, runId, Stage.Segment, jobId);
        await using (progress.ConfigureAwait(false))
        {
            progress.Report((0, views.Count));
            result = await Task.Run(() => SceneSegmenter.Run(cloud, views, settings, spacing, labels, staging, progress, cancellationToken),
                cancellationToken).ConfigureAwait(false);
        }

        var projectionsPerSecond = result.Projections / Math.Max(result.VisibilityTime.TotalSeconds, 1e-9);
        var metrics = JsonSerializer.Serialize(new
        {
            views = views.Count,
            scenePoints = cloud.Count,
            segments = result.Segments.Count,
            meanPoints = result.Segments.Count > 0 ? Math.Round(result.Segments.Average(s => s.Points)) : 0,
            correspondences = result.Segments.Sum(s => s.Images.Sum(i => (long)i.Rows)),
            result.Labelled,
            pointSpacing = spacing,
            projections = result.Projections,
            projectionsPerSecond = Math.Round(projectionsPerSecond),
            visibilitySeconds = Math.Round(result.VisibilityTime.TotalSeconds, 3),
            buildSeconds = Math.Round(result.BuildTime.TotalSeconds, 3),
            seconds = Math.Round(clock.Elapsed.TotalSeconds, 3),
            skipped = result.Segments.Count == 0 ? NoSegmentReason(views.Count, settings) : null,
        });

        return await work.PublishAsync(async key =>
        {
            var rows = result.Segments.Select((s, i) => SegmentRows.From(s, i, $"{keyPrefix}-{i:D4}", $"{key}/{SegmentationResult.FolderName(i)}", result.Labelled))
                .ToList();
            var previous = await index.CommitAsync(runId, jobId, key, rows, metrics, cancellationToken).ConfigureAwait(false);
            LogSegmented(logger, runId, result.Segments.Count, views.Count, clock.Elapsed.TotalSeconds);
            return previous;
        }).ConfigureAwait(false);
    }

    /// <summary>Why a scene gave no segment, in the profile's terms.</summary>
    private static string NoSegmentReason(int views, SegmentSettings settings) => views < settings.ViewsPerSegment
        ? $"only {views} keyframes have cameras; a segment needs segment.viewsPerSegment = {settings.ViewsPerSegment}"
        : $"no group of {settings.ViewsPerSegment} of the {views} keyframes met the profile's limits (segment.minCovisibility {settings.MinCovisibility}, " +
          $"minBaseline {settings.MinBaseline}, minPoints {settings.MinPoints}, maxOverlap {settings.MaxOverlap})";

    /// <summary>The reconstruct stage's scene cloud (labels, when a capture has them, come from its label images).</summary>
    private static SceneCloud LoadCloud(string folder)
    {
        var cloud = PointCloudFiles.Read(folder);
        return new SceneCloud(cloud.Coord, cloud.Color, cloud.Normal);
    }

    /// <summary>The stored camera with its intrinsics in the keyframe image's pixels (posed captures store the capture's).</summary>
    private static SceneView ToView(CameraRow camera, KeyframeRow frame, string imagePath)
    {
        var intrinsics = new PinholeIntrinsics(camera.Width, camera.Height, camera.Fx, camera.Fy, camera.Cx, camera.Cy);
        if (camera.Width != frame.Width || camera.Height != frame.Height) intrinsics = intrinsics.ScaledTo(frame.Width, frame.Height);
        return new SceneView(camera.FrameIndex, camera.Time, RigidTransform.FromMatrix4(camera.CameraToWorld), intrinsics,
            imagePath);
    }

    [LoggerMessage(EventId = 2301, Level = LogLevel.Information, Message = "Segmented run {RunId}: {Segments} segments from {Views} views in {Seconds:0.00} s")]
    private static partial void LogSegmented(ILogger logger, long runId, int segments, int views, double seconds);
}
