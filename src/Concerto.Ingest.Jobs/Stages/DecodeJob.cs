using System.Diagnostics;
using System.Text.Json;
using Concerto.Ingest.Core.Media;
using Concerto.Ingest.Core.Pipeline;
using Concerto.Ingest.Core.Profiles;
using Concerto.Ingest.Media.Decode;
using Concerto.Ingest.Storage.Artifacts;
using Concerto.Ingest.Storage.Catalog;
using Hangfire;
using Hangfire.Server;
using Microsoft.Extensions.Logging;

namespace Concerto.Ingest.Jobs.Stages;

/// <summary>Stage 2: decode the run's video into scored frames and sampled keyframes. Outputs are written to staging,
/// published with one rename and committed with the rows in one transaction; a re-run replaces them. The reconstruct
/// stage follows.</summary>
public sealed partial class DecodeJob(
    IngestCatalog catalog, StageLedger ledger, KeyframeIndex index, FolderArtifactStore artifacts, KeyframeExtractor extractor,
    ILogger<DecodeJob> logger)
{
    [Queue(Stage.Decode)]
    [JobDisplayName("decode source {0}")]
    [AutomaticRetry(Attempts = StageRetry.Attempts, DelaysInSeconds = [5, 30, 120])]
    public async Task RunAsync(long sourceId, PerformContext? context, CancellationToken cancellationToken)
    {
        var source = await catalog.GetSourceAsync(sourceId, cancellationToken).ConfigureAwait(false);
        if (source.RunId is not { } runId || source.VideoId is not { } videoId) return; // probe rejected it

        var jobId = StageRetry.JobId(context);
        if (!await ledger.TryClaimAsync(runId, Stage.Decode, jobId, source.BatchId, source.Force, StageRetry.WorkerName, cancellationToken)
                .ConfigureAwait(false))
        {
            // Done already (same video ingested before, or twice in this batch) or in another job's hands: the next
            // stage's job sees which, and links the source to the run when it is someone else's.
            return;
        }

        var staging = artifacts.CreateStaging();
        string? previous;
        try
        {
            var video = await catalog.GetVideoInfoAsync(videoId, cancellationToken).ConfigureAwait(false);
            var profile = ProfileDocument.Parse(await catalog.GetProfileJsonAsync(source.ProfileHash, cancellationToken).ConfigureAwait(false),
                $"profile {source.ProfileHash}");

            var clock = Stopwatch.StartNew();
            DecodeResult result;
            var progress = new StageProgress(ledger, runId, Stage.Decode, jobId);
            await using (progress.ConfigureAwait(false))
            {
                result = await extractor.ExtractAsync(source.Path, video, profile.Profile.Decode, staging,
                    new Progress(progress), cancellationToken).ConfigureAwait(false);
            }

            var key = artifacts.Publish(staging, $"runs/{runId}/decode");
            try
            {
                previous = await index.CommitDecodeAsync(runId, jobId, key, Metrics(result, clock.Elapsed),
                    result.Frames.Select(f => new FrameScoreRow((int)f.FrameIndex, f.Time, (float)f.Sharpness)).ToList(),
                    result.Keyframes.Select(k => new KeyframeRow((int)k.FrameIndex, k.Time, (float)k.Sharpness, result.Size.Width,
                        result.Size.Height, $"{key}/{k.FileName}")).ToList(),
                    cancellationToken).ConfigureAwait(false);
                LogDecoded(logger, source.Path, result.Frames.Count, result.Keyframes.Count, clock.Elapsed.TotalSeconds);
            }
            catch
            {
                // Delete the new folder only when the commit surely did not happen (a lost connection can hide a commit).
                if (await ledger.ArtifactKeyAsync(runId, Stage.Decode, CancellationToken.None).ConfigureAwait(false) != key)
                    artifacts.Delete(key);
                throw;
            }
        }
        catch (BadInputException e)
        {
            LogRejected(logger, e.Message);
            await StageEndings.FailAsync(catalog, ledger, Stage.Decode, sourceId, runId, jobId, e.Message, SourceState.Rejected).ConfigureAwait(false);
            return;
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            var state = StageRetry.IsLastAttempt(context) ? SourceState.Failed : SourceState.Retrying;
            await StageEndings.FailAsync(catalog, ledger, Stage.Decode, sourceId, runId, jobId, $"{source.Path}: decode failed: {e.Message}", state)
                .ConfigureAwait(false);
            throw;
        }
        finally
        {
            FolderArtifactStore.DiscardStaging(staging);
        }

        // Committed: the source's end is the last stage's to record.
        StageEndings.DeletePrevious(artifacts, previous, (key, reason) => LogCleanupFailed(logger, key, reason));
    }

    private static string Metrics(DecodeResult r, TimeSpan elapsed) => JsonSerializer.Serialize(new
    {
        framesAnalysed = r.Frames.Count,
        keyframes = r.Keyframes.Count,
        width = r.Size.Width,
        height = r.Size.Height,
        analysisFps = r.AnalysisRate,
        seconds = Math.Round(elapsed.TotalSeconds, 3),
        framesPerSecond = Math.Round(r.Frames.Count / Math.Max(elapsed.TotalSeconds, 1e-9), 1),
        meanKeyframeSharpness = r.Keyframes.Count > 0 ? Math.Round(r.Keyframes.Average(k => k.Sharpness), 2) : 0,
    });

    /// <summary>Adapts the extractor's progress to the stage row (frames decoded of frames expected).</summary>
    private sealed class Progress(StageProgress target) : IProgress<DecodeProgress>
    {
        public void Report(DecodeProgress value) => target.Report((value.FramesDecoded, Math.Max(value.FramesExpected, value.FramesDecoded)));
    }

    [LoggerMessage(EventId = 2101, Level = LogLevel.Information, Message = "Decoded {Path}: {Frames} frames analysed, {Keyframes} keyframes in {Seconds:0.00} s")]
    private static partial void LogDecoded(ILogger logger, string path, int frames, int keyframes, double seconds);

    [LoggerMessage(EventId = 2102, Level = LogLevel.Information, Message = "Rejected: {Reason}")]
    private static partial void LogRejected(ILogger logger, string reason);

    [LoggerMessage(EventId = 2103, Level = LogLevel.Warning, Message = "Could not delete the previous outputs {Key}: {Reason}")]
    private static partial void LogCleanupFailed(ILogger logger, string key, string reason);
}
