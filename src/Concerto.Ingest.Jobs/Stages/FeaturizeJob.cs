using System.Globalization;
using System.Text.Json;
using Concerto.Ingest.Core.Media;
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
    IngestCatalog catalog, StageLedger ledger, FeatureIndex index, TeacherModels teachers, FolderArtifactStore artifacts, ILogger<FeaturizeJob> logger)
{
    public const string TeacherFile = "teacher.json";

    [Queue(Stage.Featurize)]
    [JobDisplayName("featurize source {0}")]
    [AutomaticRetry(Attempts = StageRetry.Attempts, DelaysInSeconds = [5, 30, 120])]
    public async Task RunAsync(long sourceId, PerformContext? context, CancellationToken cancellationToken)
    {
        var source = await catalog.GetSourceAsync(sourceId, cancellationToken).ConfigureAwait(false);
        if (source.RunId is not { } runId || source.State is SourceState.Rejected or SourceState.Failed) return;

        var jobId = StageRetry.JobId(context);
        if (await ledger.StateAsync(runId, Stage.Segment, cancellationToken).ConfigureAwait(false) != StageState.Succeeded
            || !await ledger.TryClaimAsync(runId, Stage.Featurize, jobId, source.BatchId, source.Force, StageRetry.WorkerName, cancellationToken)
                .ConfigureAwait(false))
        {
            await catalog.SetSourceStateAsync(sourceId, SourceState.Linked, cancellationToken).ConfigureAwait(false);
            return;
        }

        var staging = artifacts.CreateStaging();
        try
        {
            var settings = ProfileDocument.Parse(await catalog.GetProfileJsonAsync(source.ProfileHash, cancellationToken).ConfigureAwait(false),
                $"profile {source.ProfileHash}").Profile.Featurize ?? FeaturizeSettings.Default;
            var model = teachers.Get(settings);
            if (model is null)
            {
                const string reason = "no teacher model set (featurize.modelPath or Concerto:Features:TeacherModel)";
                await index.CommitAsync(runId, jobId, null, [], null, JsonSerializer.Serialize(new { skipped = reason }), cancellationToken)
                    .ConfigureAwait(false);
                LogSkipped(logger, source.Path, reason);
            }
            else
            {
                await FeaturizeAsync(runId, jobId, model, staging, cancellationToken).ConfigureAwait(false);
            }
        }
        catch (BadInputException e)
        {
            await StageEndings.FailAsync(catalog, ledger, Stage.Featurize, sourceId, runId, jobId, e.Message, SourceState.Rejected).ConfigureAwait(false);
            return;
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            var state = StageRetry.IsLastAttempt(context) ? SourceState.Failed : SourceState.Retrying;
            await StageEndings.FailAsync(catalog, ledger, Stage.Featurize, sourceId, runId, jobId, $"{source.Path}: featurize failed: {e.Message}", state)
                .ConfigureAwait(false);
            throw;
        }
        finally
        {
            FolderArtifactStore.DiscardStaging(staging);
        }

        await catalog.SetSourceStateAsync(sourceId, SourceState.Succeeded, CancellationToken.None).ConfigureAwait(false);
    }

    private async Task FeaturizeAsync(long runId, string jobId, TeacherModel model, string staging, CancellationToken cancellationToken)
    {
        var pending = await index.PendingAsync(runId, model.Identity, cancellationToken).ConfigureAwait(false);
        var teacher = new TeacherRow(model.Identity, model.ModelHash, Path.GetFileName(model.ModelPath), model.Width, model.Settings.PatchTokens,
            model.Preprocessing);
        if (pending.Count == 0)
        {
            await index.CommitAsync(runId, jobId, teacher, [], null, JsonSerializer.Serialize(new { images = 0, teacher = model.Identity }),
                cancellationToken).ConfigureAwait(false);
            return;
        }

        var images = pending.Select(p => new FeatureImage(Path.Combine(artifacts.Resolve(p.SegmentArtifactKey), p.ImageFile), FileOf(p))).ToList();
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
        var key = artifacts.Publish(staging, $"runs/{runId}/featurize");
        try
        {
            await index.CommitAsync(runId, jobId, teacher, pending.Select(p => new FeatureRow(p.SegmentId, p.Slot, $"{key}/{FileOf(p)}")).ToList(), key,
                metrics, cancellationToken).ConfigureAwait(false);
            LogFeaturized(logger, runId, timing.Images, timing.Wall.TotalSeconds);
        }
        catch
        {
            if (await ledger.ArtifactKeyAsync(runId, Stage.Featurize, CancellationToken.None).ConfigureAwait(false) != key) artifacts.Delete(key);
            throw;
        }
    }

    private static string FileOf(PendingImage p) =>
        $"{SegmentationResult.FolderName(p.Ordinal)}/{p.Slot.ToString(CultureInfo.InvariantCulture)}.npy";

    [LoggerMessage(EventId = 2401, Level = LogLevel.Information, Message = "Featurized run {RunId}: {Images} images in {Seconds:0.00} s")]
    private static partial void LogFeaturized(ILogger logger, long runId, int images, double seconds);

    [LoggerMessage(EventId = 2402, Level = LogLevel.Information, Message = "Featurize skipped for {Path}: {Reason}")]
    private static partial void LogSkipped(ILogger logger, string path, string reason);
}
