using System.Globalization;
using System.Text.Json;
using Concerto.Ingest.Core.Pipeline;
using Concerto.Ingest.Core.Profiles;
using Concerto.Ingest.Features.Teacher;
using Concerto.Ingest.Segments.Pipeline;
using Concerto.Ingest.Storage.Artifacts;
using Concerto.Ingest.Storage.Catalog;
using Hangfire;
using Hangfire.Server;
using Microsoft.Extensions.Logging;

namespace Concerto.Ingest.Jobs.Stages;

/// <summary>Stage 5: the frozen image teacher's patch features for every segment image of the run that has none from
/// this teacher yet, as float16 npy files [patch tokens, width] beside a teacher.json, indexed per image. The last stage:
/// its end is the source's end. No teacher configured: the stage ends, saying so.</summary>
public sealed partial class FeaturizeJob(
    IngestCatalog catalog, StageRunner runner, StageLedger ledger, FeatureIndex index, TeacherModels teachers, IArtifactStore artifacts,
    ILogger<FeaturizeJob> logger)
{
    public const string TeacherFile = "teacher.json";

    [Queue(Stage.Featurize)]
    [JobDisplayName("featurize source {0}")]
    [AutomaticRetry(Attempts = StageRetry.Attempts, DelaysInSeconds = [5, 30, 120])]
    public Task RunAsync(long sourceId, PerformContext? context, CancellationToken cancellationToken) =>
        runner.RunAsync(sourceId, Stage.Featurize, after: Stage.Segment, context, work => RunStageAsync(work, work.CancellationToken), cancellationToken);

    /// <summary>Features are never replaced, so there are no previous outputs to delete (returns null).</summary>
    private async Task<string?> RunStageAsync(StageWork work, CancellationToken cancellationToken)
    {
        var source = work.Source;
        var settings = ProfileDocument.Parse(await catalog.GetProfileJsonAsync(source.ProfileHash, cancellationToken).ConfigureAwait(false),
            $"profile {source.ProfileHash}").Profile.Featurize ?? FeaturizeSettings.Default;
        var model = teachers.Get(settings);
        if (model is null)
        {
            const string reason = "no teacher model set (featurize.modelPath or Concerto:Features:TeacherModel)";
            await index.CommitAsync(work.RunId, work.JobId, null, [], null, JsonSerializer.Serialize(new { skipped = reason }), cancellationToken)
                .ConfigureAwait(false);
            LogSkipped(logger, source.Path, reason);
        }
        else
        {
            await FeaturizeAsync(work, model, cancellationToken).ConfigureAwait(false);
        }

        return null;
    }

    private async Task FeaturizeAsync(StageWork work, TeacherModel model, CancellationToken cancellationToken)
    {
        var (runId, jobId, staging) = (work.RunId, work.JobId, work.Staging);
        var pending = await index.PendingAsync(runId, model.Identity, cancellationToken).ConfigureAwait(false);
        var teacher = new TeacherRow(model.Identity, model.ModelHash, Path.GetFileName(model.ModelPath), model.Width, model.Settings.Grid,
            model.Preprocessing);
        if (pending.Count == 0)
        {
            await index.CommitAsync(runId, jobId, teacher, [], null, JsonSerializer.Serialize(new { images = 0, teacher = model.Identity }),
                cancellationToken).ConfigureAwait(false);
            return;
        }

        var images = new List<FeatureImage>(pending.Count);
        foreach (var p in pending)
            images.Add(new FeatureImage(await artifacts.LocalPathAsync(ArtifactKeys.Combine(p.SegmentArtifactKey, p.ImageFile), cancellationToken)
                .ConfigureAwait(false), FileOf(p)));
        FeaturizeTiming timing;
        var progress = new StageProgress(ledger, runId, Stage.Featurize, jobId);
        await using (progress.ConfigureAwait(false))
        {
            progress.Report((0, images.Count));
            timing = await ImageFeaturizer.RunAsync(model, images, staging, new Progress<int>(n => progress.Report((n, images.Count))), cancellationToken)
                .ConfigureAwait(false);
        }

        await File.WriteAllTextAsync(Path.Combine(staging, TeacherFile), JsonSerializer.Serialize(new
        {
            identity = model.Identity,
            modelHash = model.ModelHash,
            modelFile = Path.GetFileName(model.ModelPath),
            width = model.Width,
            tokens = model.Settings.PatchTokens,
            grid = new { rows = model.Settings.Grid.Rows, columns = model.Settings.Grid.Columns, patchSize = model.Settings.Grid.PatchSize },
            dtype = "float16",
            preprocessing = JsonDocument.Parse(model.Preprocessing).RootElement,
        }), cancellationToken).ConfigureAwait(false);

        var metrics = JsonSerializer.Serialize(new
        {
            images = timing.Images,
            teacher = model.Identity,
            width = model.Width,
            provider = model.ExecutionProvider,
            seconds = Math.Round(timing.Wall.TotalSeconds, 3),
            runSeconds = Math.Round(timing.RunSeconds, 3),
            imagesPerSecond = Math.Round(timing.ImagesPerSecond, 2),
            shareOutsideRun = Math.Round(timing.ShareOutsideRun, 3),
        });
        await work.PublishAsync(async key =>
        {
            await index.CommitAsync(runId, jobId, teacher, pending.Select(p => new FeatureRow(p.SegmentId, p.Slot, $"{key}/{FileOf(p)}")).ToList(), key,
                metrics, cancellationToken).ConfigureAwait(false);
            LogFeaturized(logger, runId, timing.Images, timing.Wall.TotalSeconds);
            return null;
        }).ConfigureAwait(false);
    }

    private static string FileOf(PendingImage p) =>
        $"{SegmentationResult.FolderName(p.Ordinal)}/{p.Slot.ToString(CultureInfo.InvariantCulture)}.npy";

    [LoggerMessage(EventId = 2401, Level = LogLevel.Information, Message = "Featurized run {RunId}: {Images} images in {Seconds:0.00} s")]
    private static partial void LogFeaturized(ILogger logger, long runId, int images, double seconds);

    [LoggerMessage(EventId = 2402, Level = LogLevel.Information, Message = "Featurize skipped for {Path}: {Reason}")]
    private static partial void LogSkipped(ILogger logger, string path, string reason);
}
