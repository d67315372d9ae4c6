using System.Globalization;
using Concerto.Ingest.Jobs.Stages;
using Concerto.Ingest.Storage.Artifacts;
using Concerto.Ingest.Storage.Catalog;
using Hangfire;
using Hangfire.States;
using Microsoft.Extensions.Logging;

namespace Concerto.Ingest.Jobs.Hosting;

/// <summary>What a worker does when it starts: removes staging folders that dead processes on this machine left, and hands
/// back at once the stage jobs that a dead process on this machine was running (kill -9, OOM kill, power loss), instead of
/// leaving them until Hangfire's invisibility timeout. Jobs of other machines' dead workers come back by that timeout.</summary>
public sealed partial class OrphanedStages(StageLedger ledger, IArtifactStore artifacts, IBackgroundJobClient jobs, ILogger<OrphanedStages> logger)
{
    public async Task<int> RecoverAsync(CancellationToken cancellationToken)
    {
        var swept = artifacts.SweepStaging();
        if (swept > 0) LogSwept(logger, swept);
        var requeued = 0;
        foreach (var stale in await ledger.RunningClaimsAsync(cancellationToken).ConfigureAwait(false))
        {
            if (!IsDeadHereWorker(stale.Worker) || !await ledger.ExpireLeaseAsync(stale.RunId, stale.Stage, stale.Claim, cancellationToken).ConfigureAwait(false))
                continue;
            var jobId = StageLedger.JobOf(stale.Claim);
            if (!jobs.ChangeState(jobId, new EnqueuedState(stale.Stage) { Reason = $"worker {stale.Worker} died while running it" }, ProcessingState.StateName))
                continue;
            LogRequeued(logger, jobId, stale.RunId, stale.Stage, stale.Worker!);
            requeued++;
        }

        return requeued;
    }

    /// <summary>True for "host:pid" of this machine where that process no longer runs.</summary>
    private static bool IsDeadHereWorker(string? worker)
    {
        if (worker is null) return false;
        var colon = worker.LastIndexOf(':');
        if (colon <= 0 || worker[..colon] != Environment.MachineName
            || !int.TryParse(worker[(colon + 1)..], NumberStyles.None, CultureInfo.InvariantCulture, out var pid)) return false;
        return pid != Environment.ProcessId && !StagingArea.IsRunning(pid);
    }

    [LoggerMessage(EventId = 2021, Level = LogLevel.Information, Message = "Removed {Count} staging folder(s) left by dead processes")]
    private static partial void LogSwept(ILogger logger, int count);

    [LoggerMessage(EventId = 2022, Level = LogLevel.Warning, Message = "Requeued job {JobId} (run {RunId} stage {Stage}): its worker {Worker} died while running it")]
    private static partial void LogRequeued(ILogger logger, string jobId, long runId, string stage, string worker);
}
