using Concerto.Ingest.Core.Media;
using Concerto.Ingest.Core.Pipeline;
using Concerto.Ingest.Media.Probe;
using Concerto.Ingest.Storage.Catalog;
using Hangfire;
using Hangfire.Server;
using Microsoft.Extensions.Logging;

namespace Concerto.Ingest.Jobs.Stages;

/// <summary>Stage 1: hash the file (dedup), read its metadata, and record the video and its run for the batch's
/// profile. A file that is not a usable video is rejected here with a one-line reason.</summary>
public sealed partial class ProbeJob(IngestCatalog catalog, VideoProber prober, ILogger<ProbeJob> logger)
{
    [Queue(Stage.Probe)]
    [JobDisplayName("probe source {0}")]
    [AutomaticRetry(Attempts = StageRetry.Attempts, DelaysInSeconds = [5, 30, 120])]
    public async Task RunAsync(long sourceId, PerformContext? context, CancellationToken cancellationToken)
    {
        var source = await catalog.GetSourceAsync(sourceId, cancellationToken).ConfigureAwait(false);
        if (source.RunId is not null || source.State == SourceState.Rejected) return; // done before (job re-delivered)

        await catalog.StartProbeAsync(sourceId, StageRetry.WorkerName, cancellationToken).ConfigureAwait(false);
        try
        {
            var info = await prober.ProbeAsync(source.Path, cancellationToken).ConfigureAwait(false);
            var (hash, size) = await HashAsync(source.Path, cancellationToken).ConfigureAwait(false);
            var runId = await catalog.CompleteProbeAsync(sourceId, source.ProfileHash, hash, size, source.Path, info, StageRetry.WorkerName,
                cancellationToken).ConfigureAwait(false);
            LogProbed(logger, source.Path, info.Width, info.Height, info.DurationSeconds, runId);
        }
        catch (BadInputException e)
        {
            LogRejected(logger, e.Message);
            await catalog.FailSourceAsync(sourceId, SourceState.Rejected, e.Message, CancellationToken.None).ConfigureAwait(false);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            var final = StageRetry.IsLastAttempt(context);
            await catalog.FailSourceAsync(sourceId, final ? SourceState.Failed : SourceState.Retrying, $"{source.Path}: probe failed: {e.Message}",
                CancellationToken.None).ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>Content hash and size; a file that vanished since the probe is bad input, not a transient error.</summary>
    private static async Task<(byte[] Hash, long Size)> HashAsync(string path, CancellationToken cancellationToken)
    {
        try
        {
            return (await ContentHasher.Sha256Async(path, cancellationToken).ConfigureAwait(false), new FileInfo(path).Length);
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException or UnauthorizedAccessException)
        {
            throw new BadInputException($"{path}: could not be read while hashing ({e.Message}).", e);
        }
    }

    [LoggerMessage(EventId = 2001, Level = LogLevel.Information, Message = "Probed {Path}: {Width}x{Height}, {Duration:0.0} s, run {RunId}")]
    private static partial void LogProbed(ILogger logger, string path, int width, int height, double duration, long runId);

    [LoggerMessage(EventId = 2002, Level = LogLevel.Information, Message = "Rejected: {Reason}")]
    private static partial void LogRejected(ILogger logger, string reason);
}
