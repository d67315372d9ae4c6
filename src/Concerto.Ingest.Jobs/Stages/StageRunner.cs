using Concerto.Ingest.Core.Media;
using Concerto.Ingest.Core.Pipeline;
using Concerto.Ingest.Storage.Artifacts;
using Concerto.Ingest.Storage.Catalog;
using Hangfire.Server;
using Microsoft.Extensions.Logging;

namespace Concerto.Ingest.Jobs.Stages;

/// <summary>A claimed run stage's context: the source, a staging folder for outputs, and the publish-then-commit step.</summary>
public sealed class StageWork
{
    private readonly StageLedger _ledger;
    private readonly FolderArtifactStore _artifacts;

    internal StageWork(StageLedger ledger, FolderArtifactStore artifacts, string stage, SourceRow source, long runId, string jobId, string staging)
    {
        (_ledger, _artifacts, Stage, Source, RunId, JobId, Staging) = (ledger, artifacts, stage, source, runId, jobId, staging);
    }

    public string Stage { get; }
    public SourceRow Source { get; }
    public long RunId { get; }
    public string JobId { get; }

    /// <summary>An empty folder for the stage's outputs, discarded after the job unless published.</summary>
    public string Staging { get; }

    /// <summary>Moves the staging folder to runs/&lt;run&gt;/&lt;stage&gt;/&lt;stamp&gt; and runs <paramref name="commit"/> with its
    /// key; if the commit fails, deletes the published folder unless the database says it was committed after all (a
    /// lost connection can hide a commit). Returns what <paramref name="commit"/> returns: the previous outputs to delete.</summary>
    public async Task<string?> PublishAsync(Func<string, Task<string?>> commit)
    {
        ArgumentNullException.ThrowIfNull(commit);
        var key = await _artifacts.PublishAsync(Staging, $"runs/{RunId}/{Stage}", CancellationToken.None).ConfigureAwait(false);
        try
        {
            return await commit(key).ConfigureAwait(false);
        }
        catch
        {
            if (await _ledger.ArtifactKeyAsync(RunId, Stage, CancellationToken.None).ConfigureAwait(false) != key)
                await _artifacts.DeleteAsync(key, CancellationToken.None).ConfigureAwait(false);
            throw;
        }
    }
}

/// <summary>What every run stage job does around its own work: claim the stage (after the previous stage succeeded), give
/// the work a staging folder, record how it ended (bad input: rejected, final; other errors: retrying, or failed on the
/// last attempt, and rethrown for Hangfire), delete the outputs the commit replaced, and end the source after the last
/// stage.</summary>
public sealed partial class StageRunner(IngestCatalog catalog, StageLedger ledger, FolderArtifactStore artifacts, ILogger<StageRunner> logger)
{
    /// <param name="after">The stage that must have succeeded first; when another job holds this stage or it is done, the
    /// source is linked to that run. Null for the first run stage, whose later stages link instead.</param>
    /// <param name="work">The stage's work; returns the previous outputs' key to delete after its commit, or null.</param>
    public async Task RunAsync(long sourceId, string stage, string? after, PerformContext? context, Func<StageWork, Task<string?>> work,
        CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(work);
        var source = await catalog.GetSourceAsync(sourceId, cancellationToken).ConfigureAwait(false);
        if (source.RunId is not { } runId || source.VideoId is null || source.State is SourceState.Rejected or SourceState.Failed) return;

        var jobId = StageRetry.JobId(context);
        if ((after is not null && await ledger.StateAsync(runId, after, cancellationToken).ConfigureAwait(false) != StageState.Succeeded)
            || !await ledger.TryClaimAsync(runId, stage, jobId, source.BatchId, source.Force, StageRetry.WorkerName, cancellationToken).ConfigureAwait(false))
        {
            // Done already (the same video ingested before, or twice in this batch) or in another job's hands.
            if (after is not null) await catalog.SetSourceStateAsync(sourceId, SourceState.Linked, cancellationToken).ConfigureAwait(false);
            return;
        }

        var staging = artifacts.CreateStaging();
        string? previous;
        try
        {
            previous = await work(new StageWork(ledger, artifacts, stage, source, runId, jobId, staging)).ConfigureAwait(false);
        }
        catch (BadInputException e)
        {
            LogRejected(logger, stage, e.Message);
            await FailAsync(stage, sourceId, runId, jobId, e.Message, SourceState.Rejected).ConfigureAwait(false);
            return;
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            var state = StageRetry.IsLastAttempt(context) ? SourceState.Failed : SourceState.Retrying;
            await FailAsync(stage, sourceId, runId, jobId, $"{source.Path}: {stage} failed: {e.Message}", state).ConfigureAwait(false);
            throw;
        }
        finally
        {
            StagingArea.Discard(staging);
        }

        if (previous is not null)
        {
            // Housekeeping after the commit: the new outputs are in place, so a failure here is only reported.
            try
            {
                await artifacts.DeleteAsync(previous, CancellationToken.None).ConfigureAwait(false);
            }
            catch (IOException e)
            {
                LogCleanupFailed(logger, previous, e.Message);
            }
        }

        if (stage == Stage.Last) await catalog.SetSourceStateAsync(sourceId, SourceState.Succeeded, CancellationToken.None).ConfigureAwait(false);
    }

    /// <summary>Records an error on the stage and the source; retrying means Hangfire will try again, rejected (bad input)
    /// and failed are final.</summary>
    private async Task FailAsync(string stage, long sourceId, long runId, string jobId, string error, string sourceState)
    {
        await ledger.FailAsync(runId, stage, jobId, error, sourceState != SourceState.Retrying, CancellationToken.None).ConfigureAwait(false);
        await catalog.FailSourceAsync(sourceId, sourceState, error, CancellationToken.None).ConfigureAwait(false);
    }

    [LoggerMessage(EventId = 2011, Level = LogLevel.Information, Message = "Rejected at {Stage}: {Reason}")]
    private static partial void LogRejected(ILogger logger, string stage, string reason);

    [LoggerMessage(EventId = 2012, Level = LogLevel.Warning, Message = "Could not delete the previous outputs {Key}: {Reason}")]
    private static partial void LogCleanupFailed(ILogger logger, string key, string reason);
}
