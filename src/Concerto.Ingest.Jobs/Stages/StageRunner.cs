using Concerto.Ingest.Core.Media;
using Concerto.Ingest.Core.Pipeline;
using Concerto.Ingest.Jobs.Hosting;
using Concerto.Ingest.Storage.Artifacts;
using Concerto.Ingest.Storage.Catalog;
using Hangfire.Server;
using Microsoft.Extensions.Logging;

namespace Concerto.Ingest.Jobs.Stages;

/// <summary>A claimed run stage's context: the source, a staging folder for outputs, the claim's token, and the
/// publish-then-commit step.</summary>
public sealed class StageWork
{
    private readonly StageLedger _ledger;
    private readonly IArtifactStore _artifacts;

    internal StageWork(StageLedger ledger, IArtifactStore artifacts, string stage, SourceRow source, long runId, string claim, string staging,
        CancellationToken cancellationToken)
    {
        (_ledger, _artifacts, Stage, Source, RunId, JobId, Staging, CancellationToken) =
            (ledger, artifacts, stage, source, runId, claim, staging, cancellationToken);
    }

    public string Stage { get; }
    public SourceRow Source { get; }
    public long RunId { get; }

    /// <summary>The claim id ("&lt;job&gt;/&lt;execution&gt;") that progress and the commit present to the ledger.</summary>
    public string JobId { get; }

    /// <summary>An empty folder for the stage's outputs, discarded after the job unless published.</summary>
    public string Staging { get; }

    /// <summary>The job's token, also cancelled when this execution loses its claim: the work passes it on everywhere.</summary>
    public CancellationToken CancellationToken { get; }

    /// <summary>Records the new key in the ledger, publishes the staging folder there (runs/&lt;run&gt;/&lt;stage&gt;/&lt;stamp&gt;)
    /// and runs <paramref name="commit"/> with the key; if the commit fails, deletes the published outputs unless the
    /// database says they were committed after all (a lost connection can hide a commit). A crash anywhere in between
    /// leaves the key recorded for the next execution to delete. Returns what <paramref name="commit"/> returns: the
    /// previous outputs to delete.</summary>
    public async Task<string?> PublishAsync(Func<string, Task<string?>> commit)
    {
        ArgumentNullException.ThrowIfNull(commit);
        await FaultPoints.ReachAsync($"{Stage}:work", CancellationToken).ConfigureAwait(false);
        var key = ArtifactKeys.NewUnique($"runs/{RunId}/{Stage}");
        if (!await _ledger.MarkPublishingAsync(RunId, Stage, JobId, key, CancellationToken).ConfigureAwait(false))
            throw new StageClaimLostException($"run {RunId} stage {Stage} is no longer held by {JobId}; its outputs were not published");
        try
        {
            await _artifacts.PublishAsync(Staging, key, CancellationToken).ConfigureAwait(false);
            await FaultPoints.ReachAsync($"{Stage}:published", CancellationToken).ConfigureAwait(false);
            return await commit(key).ConfigureAwait(false);
        }
        catch
        {
            await DeleteUnlessCommittedAsync(key).ConfigureAwait(false);
            throw;
        }
    }

    private async Task DeleteUnlessCommittedAsync(string key)
    {
        try
        {
            if (await _ledger.ArtifactKeyAsync(RunId, Stage, CancellationToken.None).ConfigureAwait(false) == key) return;
            await _artifacts.DeleteAsync(key, CancellationToken.None).ConfigureAwait(false);
            await _ledger.ClearPublishingAsync(RunId, Stage, JobId, CancellationToken.None).ConfigureAwait(false);
        }
        catch (Exception e) when (e is Npgsql.NpgsqlException or IOException or TimeoutException)
        {
            // The key stays recorded as publishing: the next execution of the stage deletes it.
        }
    }
}

/// <summary>This execution no longer holds its stage (its lease ran out and another execution took over).</summary>
public sealed class StageClaimLostException(string message) : Exception(message);

/// <summary>What every run stage job does around its own work: claim the stage (after the previous stage succeeded) as a
/// renewed lease, delete what a dead execution left behind, give the work a staging folder, record how it ended (bad
/// input: rejected, final; other errors: retrying, or failed on the last attempt, and rethrown for Hangfire), delete the
/// outputs the commit replaced, and end the source after the last stage.</summary>
public sealed partial class StageRunner(IngestCatalog catalog, StageLedger ledger, IArtifactStore artifacts, WorkerOptions options,
    ILogger<StageRunner> logger)
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

        var claim = $"{StageRetry.JobId(context)}/{Guid.NewGuid():N}";
        if (after is not null && await ledger.StateAsync(runId, after, cancellationToken).ConfigureAwait(false) != StageState.Succeeded)
        {
            await catalog.SetSourceStateAsync(sourceId, SourceState.Linked, cancellationToken).ConfigureAwait(false);
            return;
        }

        var claimed = await ClaimAsync(runId, stage, claim, source, cancellationToken).ConfigureAwait(false);
        if (claimed.Outcome != ClaimOutcome.Claimed)
        {
            // Done already (the same video ingested before, or twice in this batch) or in another job's hands.
            if (claimed.Outcome == ClaimOutcome.OtherJob && after is not null)
                await catalog.SetSourceStateAsync(sourceId, SourceState.Linked, cancellationToken).ConfigureAwait(false);
            return;
        }

        LogClaimed(logger, runId, stage, claim);
        var outcome = "cancelled";
        var lease = new StageLease(ledger, runId, stage, claim, options.Lease, cancellationToken);
        string? previous;
        string? staging = null;
        await using (lease.ConfigureAwait(false))
        {
            try
            {
                await CleanUpAfterDeadExecutionAsync(runId, stage, claim, claimed.Orphan, lease.Token).ConfigureAwait(false);
                staging = artifacts.CreateStaging();
                previous = await work(new StageWork(ledger, artifacts, stage, source, runId, claim, staging, lease.Token)).ConfigureAwait(false);
                outcome = "succeeded";
            }
            catch (BadInputException e)
            {
                outcome = "rejected";
                LogRejected(logger, stage, e.Message);
                await FailAsync(stage, sourceId, runId, claim, e.Message, SourceState.Rejected).ConfigureAwait(false);
                return;
            }
            catch (Exception e) when (e is not OperationCanceledException || lease.LostReason is not null)
            {
                outcome = "failed";
                var reason = lease.LostReason is { } lost ? $"this execution stopped: {lost}" : Explain(e);
                var state = StageRetry.IsLastAttempt(context) ? SourceState.Failed : SourceState.Retrying;
                await FailAsync(stage, sourceId, runId, claim, $"{source.Path}: {stage} failed: {reason}", state).ConfigureAwait(false);
                if (lease.LostReason is not null) throw new StageClaimLostException($"run {runId} stage {stage}: {reason}");
                throw;
            }
            finally
            {
                if (staging is not null) StagingArea.Discard(staging);
                if (outcome == "cancelled") await ReleaseLeaseAsync(runId, stage, claim).ConfigureAwait(false);
                LogEnded(logger, runId, stage, claim, outcome);
            }
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

    /// <summary>Claims the stage; when an earlier execution of this same job still holds a live lease (Hangfire handed
    /// the job out again while it runs, e.g. after a database outage), waits for that lease to end instead of running
    /// beside it, and gives up with an error (Hangfire retries later) if it does not.</summary>
    private async Task<ClaimResult> ClaimAsync(long runId, string stage, string claim, SourceRow source, CancellationToken cancellationToken)
    {
        var deadline = DateTime.UtcNow + options.Lease * 2;
        while (true)
        {
            var result = await ledger.TryClaimAsync(runId, stage, claim, source.BatchId, source.Force, StageRetry.WorkerName, options.Lease,
                cancellationToken).ConfigureAwait(false);
            if (result.Outcome != ClaimOutcome.RunningElsewhere) return result;
            if (DateTime.UtcNow > deadline)
                throw new StageClaimLostException($"run {runId} stage {stage} is still running in an earlier execution of this job; trying again later");
            LogWaitingForLease(logger, runId, stage);
            await Task.Delay(options.Lease / 4, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>A cancelled execution (the worker is shutting down and hands the job back) ends its lease, so the next
    /// execution can claim the stage at once instead of waiting for it to run out.</summary>
    private async Task ReleaseLeaseAsync(long runId, string stage, string claim)
    {
        try
        {
            await ledger.ExpireLeaseAsync(runId, stage, claim, CancellationToken.None).ConfigureAwait(false);
        }
        catch (Exception e) when (e is Npgsql.NpgsqlException or TimeoutException)
        {
            // the lease runs out by itself
        }
    }

    /// <summary>Before new work: delete the outputs a dead execution published (or began to) without committing. (Staging
    /// folders of dead processes are swept when a worker starts: <see cref="Hosting.OrphanedStages"/>.)</summary>
    private async Task CleanUpAfterDeadExecutionAsync(long runId, string stage, string claim, string? orphan, CancellationToken cancellationToken)
    {
        if (orphan is null) return;
        await artifacts.DeleteAsync(orphan, cancellationToken).ConfigureAwait(false);
        await ledger.ClearPublishingAsync(runId, stage, claim, cancellationToken).ConfigureAwait(false);
        LogDeletedOrphan(logger, orphan, runId, stage);
    }

    /// <summary>The error as a user should read it: a full disk says which store and what to do.</summary>
    private string Explain(Exception e) =>
        e is IOException && e.Message.Contains("No space left on device", StringComparison.OrdinalIgnoreCase)
            ? $"{e.Message} (the disk of the artifact store {artifacts.Location} or of the staging folder is full: free space there; the stage is retried)"
            : e.Message;

    /// <summary>Records an error on the stage and the source; retrying means Hangfire will try again, rejected (bad input)
    /// and failed are final.</summary>
    private async Task FailAsync(string stage, long sourceId, long runId, string claim, string error, string sourceState)
    {
        await ledger.FailAsync(runId, stage, claim, error, sourceState != SourceState.Retrying, CancellationToken.None).ConfigureAwait(false);
        await catalog.FailSourceAsync(sourceId, sourceState, error, CancellationToken.None).ConfigureAwait(false);
    }

    [LoggerMessage(EventId = 2011, Level = LogLevel.Information, Message = "Rejected at {Stage}: {Reason}")]
    private static partial void LogRejected(ILogger logger, string stage, string reason);

    [LoggerMessage(EventId = 2012, Level = LogLevel.Warning, Message = "Could not delete the previous outputs {Key}: {Reason}")]
    private static partial void LogCleanupFailed(ILogger logger, string key, string reason);

    [LoggerMessage(EventId = 2013, Level = LogLevel.Warning, Message = "Deleted {Key}: outputs of run {RunId} stage {Stage} that a dead execution published without committing")]
    private static partial void LogDeletedOrphan(ILogger logger, string key, long runId, string stage);

    [LoggerMessage(EventId = 2016, Level = LogLevel.Information, Message = "Run {RunId} stage {Stage}: claimed as {Claim}")]
    private static partial void LogClaimed(ILogger logger, long runId, string stage, string claim);

    [LoggerMessage(EventId = 2017, Level = LogLevel.Information, Message = "Run {RunId} stage {Stage}: {Claim} ended, {Outcome}")]
    private static partial void LogEnded(ILogger logger, long runId, string stage, string claim, string outcome);

    [LoggerMessage(EventId = 2015, Level = LogLevel.Information, Message = "Run {RunId} stage {Stage}: an earlier execution of this job still holds its lease; waiting")]
    private static partial void LogWaitingForLease(ILogger logger, long runId, string stage);
}
