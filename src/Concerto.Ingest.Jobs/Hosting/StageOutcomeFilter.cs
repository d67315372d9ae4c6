using Concerto.Ingest.Jobs.Stages;
using Concerto.Ingest.Storage.Catalog;
using Hangfire.Common;
using Hangfire.States;
using Hangfire.Storage;

namespace Concerto.Ingest.Jobs.Hosting;

/// <summary>When Hangfire gives up on a stage job (failed after its retries, including failures before the job's own
/// error handling ran, such as a missing ffmpeg at activation), the job's source and stage are marked failed with the
/// reason, so a watching `concerto ingest` and `concerto status` never wait on them forever.</summary>
public sealed class StageOutcomeFilter(IngestCatalog catalog, StageLedger ledger) : IApplyStateFilter
{
    private static readonly Type[] StageJobs = [typeof(ProbeJob), typeof(DecodeJob), typeof(ReconstructJob), typeof(SegmentJob), typeof(FeaturizeJob)];

    public void OnStateApplied(ApplyStateContext context, IWriteOnlyTransaction transaction)
    {
        ArgumentNullException.ThrowIfNull(context);
        if (context.NewState is not FailedState failed) return;
        var job = context.BackgroundJob.Job;
        if (job is null || !StageJobs.Contains(job.Type) || job.Args.Count == 0 || job.Args[0] is not long sourceId)
            return;

        var reason = $"{job.Type.Name} gave up: {failed.Exception.Message}";
        // Hangfire's filters are synchronous.
        ledger.AbandonAsync(context.BackgroundJob.Id, reason, CancellationToken.None).GetAwaiter().GetResult();
        catalog.AbandonSourceAsync(sourceId, reason, CancellationToken.None).GetAwaiter().GetResult();
    }

    public void OnStateUnapplied(ApplyStateContext context, IWriteOnlyTransaction transaction)
    {
    }
}

/// <summary>Hangfire's global filters plus this container's own, so filters that use this container's services do not
/// leak into other pipelines hosted by the same process.</summary>
public sealed class ConcertoJobFilterProvider(StageOutcomeFilter outcome) : IJobFilterProvider
{
    private readonly JobFilter _outcome = new(outcome, JobFilterScope.Global, null);

    public IEnumerable<JobFilter> GetFilters(Job job) => JobFilterProviders.Providers.GetFilters(job).Append(_outcome);
}
