using Concerto.Ingest.Core.Pipeline;
using Concerto.Ingest.Storage.Catalog;
using Concerto.Ingest.TestSupport;

namespace Concerto.Ingest.Storage.Tests.Catalog;

/// <summary>Claim semantics of run_stages. Every test works on a run of its own in the class's database.</summary>
public sealed class StageLedgerTests(TestDatabase database) : IClassFixture<TestDatabase>
{
    private static readonly CancellationToken None = CancellationToken.None;
    private readonly StageLedger _ledger = new(database.DataSource);

    private Task<bool> ClaimAsync(SeededRun run, string jobId, long? batchId = null, bool force = false) =>
        _ledger.ClaimsAsync(run.RunId, Stage.Decode, jobId, batchId ?? run.BatchId, force, "worker-" + jobId, None);

    [Fact]
    public async Task CompleteProbeAsync_CreatesPendingDecodeStage_WhenSourceIsProbed()
    {
        var run = await CatalogSeed.ProbedRunAsync(database.DataSource);

        var stage = await CatalogSeed.ReadStageAsync(database.DataSource, run.RunId);

        Assert.Equal(StageState.Pending, stage.State);
        Assert.Null(stage.OwnerJob);
        Assert.Equal(0, stage.Executions);
        var probe = await CatalogSeed.ReadStageAsync(database.DataSource, run.RunId, Stage.Probe);   // shown in status beside decode
        Assert.Equal((StageState.Succeeded, 1, "probe-worker", true), (probe.State, probe.Executions, probe.Worker, probe.Finished));
    }

    [Fact]
    public async Task TryClaimAsync_WinsOnceAndRecordsOwner_WhenStageIsPending()
    {
        var run = await CatalogSeed.ProbedRunAsync(database.DataSource);

        Assert.True(await ClaimAsync(run, "job-a"));

        var stage = await CatalogSeed.ReadStageAsync(database.DataSource, run.RunId);
        Assert.Equal(StageState.Running, stage.State);
        Assert.Equal("job-a", stage.OwnerJob);
        Assert.Equal(run.BatchId, stage.BatchId);
        Assert.Equal("worker-job-a", stage.Worker);
        Assert.Equal(1, stage.Executions);
        Assert.False(stage.Finished);
    }

    [Fact]
    public async Task TryClaimAsync_Loses_WhenAnotherJobHoldsTheStage()
    {
        var run = await CatalogSeed.ProbedRunAsync(database.DataSource);
        Assert.True(await ClaimAsync(run, "job-a"));

        Assert.False(await ClaimAsync(run, "job-b"));
        Assert.False(await ClaimAsync(run, "job-b", await CatalogSeed.NewBatchAsync(database.DataSource, force: true), force: true));

        var stage = await CatalogSeed.ReadStageAsync(database.DataSource, run.RunId);
        Assert.Equal("job-a", stage.OwnerJob);
        Assert.Equal(1, stage.Executions);
    }

    [Fact]
    public async Task TryClaimAsync_WaitsForTheLease_WhenSameJobIsRedeliveredWhileItsFirstExecutionRuns()
    {
        var run = await CatalogSeed.ProbedRunAsync(database.DataSource);
        Assert.True(await ClaimAsync(run, "job-a/1"));

        var early = await _ledger.TryClaimAsync(run.RunId, Stage.Decode, "job-a/2", run.BatchId, false, "w2", LedgerClaims.Lease, None);
        Assert.Equal(ClaimOutcome.RunningElsewhere, early.Outcome);
        Assert.True(await _ledger.RenewAsync(run.RunId, Stage.Decode, "job-a/1", None));

        // The first execution stops renewing (its worker died): once the lease has run out, the re-delivery takes over.
        await Task.Delay(TimeSpan.FromSeconds(1.2));
        var late = await _ledger.TryClaimAsync(run.RunId, Stage.Decode, "job-a/2", run.BatchId, false, "w2", TimeSpan.FromSeconds(1), None);
        Assert.Equal(ClaimOutcome.Claimed, late.Outcome);

        var stage = await CatalogSeed.ReadStageAsync(database.DataSource, run.RunId);
        Assert.Equal((StageState.Running, "job-a/2", 2), (stage.State, stage.OwnerJob, stage.Executions));
        Assert.False(await _ledger.RenewAsync(run.RunId, Stage.Decode, "job-a/1", None));   // the old execution learns it lost
        await Assert.ThrowsAsync<InvalidOperationException>(() =>
            new KeyframeIndex(database.DataSource).CommitDecodeAsync(run.RunId, "job-a/1", "runs/x/decode/old", "{}", [], [], None));
    }

    [Fact]
    public async Task TryClaimAsync_ReturnsTheUncommittedKey_WhenADeadExecutionPublishedWithoutCommitting()
    {
        var run = await CatalogSeed.ProbedRunAsync(database.DataSource);
        Assert.True(await ClaimAsync(run, "job-a/1"));
        Assert.True(await _ledger.MarkPublishingAsync(run.RunId, Stage.Decode, "job-a/1", "runs/x/decode/orphan", None));
        Assert.True(await _ledger.ExpireLeaseAsync(run.RunId, Stage.Decode, "job-a/1", None));   // its process is known dead

        var claim = await _ledger.TryClaimAsync(run.RunId, Stage.Decode, "job-a/2", run.BatchId, false, "w2", LedgerClaims.Lease, None);

        Assert.Equal((ClaimOutcome.Claimed, "runs/x/decode/orphan"), (claim.Outcome, claim.Orphan));
        Assert.False(await _ledger.MarkPublishingAsync(run.RunId, Stage.Decode, "job-a/1", "runs/x/decode/late", None));
        await _ledger.ClearPublishingAsync(run.RunId, Stage.Decode, "job-a/2", None);
        await new KeyframeIndex(database.DataSource).CommitDecodeAsync(run.RunId, "job-a/2", "runs/x/decode/good", "{}", [], [], None);
        Assert.Equal("runs/x/decode/good", await _ledger.ArtifactKeyAsync(run.RunId, Stage.Decode, None));
    }

    [Fact]
    public async Task TryClaimAsync_SaysDoneByThisJob_WhenAFinishedJobIsDeliveredAgain()
    {
        var run = await CatalogSeed.ProbedRunAsync(database.DataSource);
        Assert.True(await ClaimAsync(run, "job-a/1"));
        await new KeyframeIndex(database.DataSource).CommitDecodeAsync(run.RunId, "job-a/1", "runs/x/decode/a", "{}", [], [], None);

        var again = await _ledger.TryClaimAsync(run.RunId, Stage.Decode, "job-a/2", run.BatchId, false, "w", LedgerClaims.Lease, None);
        var other = await _ledger.TryClaimAsync(run.RunId, Stage.Decode, "job-b/1", run.BatchId, false, "w", LedgerClaims.Lease, None);

        Assert.Equal((ClaimOutcome.DoneByThisJob, ClaimOutcome.OtherJob), (again.Outcome, other.Outcome));
        Assert.Equal(1, (await CatalogSeed.ReadStageAsync(database.DataSource, run.RunId)).Executions);
    }

    [Fact]
    public async Task TryClaimAsync_WinsOnlyForOwner_WhenStageIsRetrying()
    {
        var run = await CatalogSeed.ProbedRunAsync(database.DataSource);
        Assert.True(await ClaimAsync(run, "job-a"));
        await _ledger.FailAsync(run.RunId, Stage.Decode, "job-a", "decoder crashed", final: false, None);
        var retrying = await CatalogSeed.ReadStageAsync(database.DataSource, run.RunId);
        Assert.Equal(StageState.Retrying, retrying.State);
        Assert.Equal("decoder crashed", retrying.Error);
        Assert.False(retrying.Finished);

        Assert.False(await ClaimAsync(run, "job-b"));
        Assert.True(await ClaimAsync(run, "job-a"));

        var stage = await CatalogSeed.ReadStageAsync(database.DataSource, run.RunId);
        Assert.Equal(StageState.Running, stage.State);
        Assert.Null(stage.Error);
        Assert.Equal(2, stage.Executions);
    }

    [Fact]
    public async Task TryClaimAsync_LetsTheSameJobBack_WhenItsFailedJobIsRequeued()
    {
        var run = await CatalogSeed.ProbedRunAsync(database.DataSource);
        Assert.True(await ClaimAsync(run, "job-a"));
        await _ledger.FailAsync(run.RunId, Stage.Decode, "job-a", "database went away", final: true, None);

        Assert.True(await ClaimAsync(run, "job-a"));   // "Requeue" in the dashboard re-runs the same job id
        Assert.Equal(StageState.Running, (await CatalogSeed.ReadStageAsync(database.DataSource, run.RunId)).State);
    }

    [Fact]
    public async Task FailAsync_LeavesStageSucceeded_WhenOutputsAreCommitted()
    {
        var run = await CatalogSeed.ProbedRunAsync(database.DataSource);
        Assert.True(await ClaimAsync(run, "job-a"));
        await new KeyframeIndex(database.DataSource).CommitDecodeAsync(run.RunId, "job-a", "runs/x/decode/a", "{}", [], [], None);

        await _ledger.FailAsync(run.RunId, Stage.Decode, "job-a", "cleanup after commit failed", final: true, None);

        var stage = await CatalogSeed.ReadStageAsync(database.DataSource, run.RunId);
        Assert.Equal((StageState.Succeeded, null), (stage.State, stage.Error));
    }

    [Fact]
    public async Task TryClaimAsync_WinsOnlyForAnotherBatch_WhenStageFailedFinally()
    {
        var run = await CatalogSeed.ProbedRunAsync(database.DataSource);
        Assert.True(await ClaimAsync(run, "job-a"));
        await _ledger.FailAsync(run.RunId, Stage.Decode, "job-a", "corrupt stream", final: true, None);
        var failed = await CatalogSeed.ReadStageAsync(database.DataSource, run.RunId);
        Assert.Equal(StageState.Failed, failed.State);
        Assert.True(failed.Finished);

        Assert.False(await ClaimAsync(run, "job-c"));
        Assert.Equal(StageState.Failed, (await CatalogSeed.ReadStageAsync(database.DataSource, run.RunId)).State);

        var laterBatch = await CatalogSeed.NewBatchAsync(database.DataSource, force: false);
        Assert.True(await ClaimAsync(run, "job-d", laterBatch));

        var stage = await CatalogSeed.ReadStageAsync(database.DataSource, run.RunId);
        Assert.Equal(StageState.Running, stage.State);
        Assert.Equal("job-d", stage.OwnerJob);
        Assert.Equal(laterBatch, stage.BatchId);
        Assert.Null(stage.Error);
        Assert.False(stage.Finished);
    }

    [Fact]
    public async Task TryClaimAsync_WinsOnlyWithForceFromAnotherBatch_WhenStageSucceeded()
    {
        var run = await CatalogSeed.ProbedRunAsync(database.DataSource);
        Assert.True(await ClaimAsync(run, "job-a"));
        await new KeyframeIndex(database.DataSource).CommitDecodeAsync(run.RunId, "job-a", "runs/x/first", "{}", [], [], None);
        Assert.Equal(StageState.Succeeded, (await CatalogSeed.ReadStageAsync(database.DataSource, run.RunId)).State);

        var laterBatch = await CatalogSeed.NewBatchAsync(database.DataSource, force: false);
        var forcedBatch = await CatalogSeed.NewBatchAsync(database.DataSource, force: true);
        Assert.False(await ClaimAsync(run, "job-a"));
        Assert.False(await ClaimAsync(run, "job-b", laterBatch));
        Assert.False(await ClaimAsync(run, "job-c", run.BatchId, force: true));
        Assert.Equal(StageState.Succeeded, (await CatalogSeed.ReadStageAsync(database.DataSource, run.RunId)).State);

        Assert.True(await ClaimAsync(run, "job-e", forcedBatch, force: true));

        var stage = await CatalogSeed.ReadStageAsync(database.DataSource, run.RunId);
        Assert.Equal(StageState.Running, stage.State);
        Assert.Equal("job-e", stage.OwnerJob);
        Assert.Equal(forcedBatch, stage.BatchId);
        Assert.Equal(2, stage.Executions);
        Assert.Equal("runs/x/first", stage.ArtifactKey); // the previous output stays referenced until the re-run commits
    }

    [Fact]
    public async Task TryClaimAsync_HasExactlyOneWinner_WhenTenJobsRaceForPendingStage()
    {
        var run = await CatalogSeed.ProbedRunAsync(database.DataSource);

        var jobs = Enumerable.Range(0, 10).Select(i => $"racer-{i}").ToList();
        var results = await Task.WhenAll(jobs.Select(job => Task.Run(() => ClaimAsync(run, job))));

        Assert.Equal(1, results.Count(won => won));
        var winner = jobs[Array.IndexOf(results, true)];
        var stage = await CatalogSeed.ReadStageAsync(database.DataSource, run.RunId);
        Assert.Equal(winner, stage.OwnerJob);
        Assert.Equal(1, stage.Executions);
    }

    [Fact]
    public async Task TryClaimAsync_ReturnsFalse_WhenRunOrStageDoesNotExist()
    {
        var run = await CatalogSeed.ProbedRunAsync(database.DataSource);

        Assert.False(await _ledger.ClaimsAsync(run.RunId + 1_000_000, Stage.Decode, "job-a", run.BatchId, false, "w", None));
        Assert.False(await _ledger.ClaimsAsync(run.RunId, "no-such-stage", "job-a", run.BatchId, false, "w", None));
        Assert.Equal(StageState.Pending, (await CatalogSeed.ReadStageAsync(database.DataSource, run.RunId)).State);
    }

    [Fact]
    public async Task FailAsync_ChangesNothing_WhenJobDoesNotHoldTheStage()
    {
        var run = await CatalogSeed.ProbedRunAsync(database.DataSource);
        Assert.True(await ClaimAsync(run, "job-a"));

        await _ledger.FailAsync(run.RunId, Stage.Decode, "job-stale", "late failure", final: true, None);

        var stage = await CatalogSeed.ReadStageAsync(database.DataSource, run.RunId);
        Assert.Equal(StageState.Running, stage.State);
        Assert.Equal("job-a", stage.OwnerJob);
        Assert.Null(stage.Error);
    }

    [Fact]
    public async Task ReportProgressAsync_UpdatesCounters_OnlyFromTheRunningOwner()
    {
        var run = await CatalogSeed.ProbedRunAsync(database.DataSource);
        await _ledger.ReportProgressAsync(run.RunId, Stage.Decode, "job-a", 5, 10, None);
        Assert.Equal(0, await database.CountAsync("SELECT progress_done FROM run_stages WHERE run_id = $1", run.RunId));

        Assert.True(await ClaimAsync(run, "job-a"));
        await _ledger.ReportProgressAsync(run.RunId, Stage.Decode, "stale-job", 7, 9, None);
        Assert.Equal(0, await database.CountAsync("SELECT progress_done FROM run_stages WHERE run_id = $1", run.RunId));
        await _ledger.ReportProgressAsync(run.RunId, Stage.Decode, "job-a", 40, 120, None);

        Assert.Equal(40, await database.CountAsync("SELECT progress_done FROM run_stages WHERE run_id = $1", run.RunId));
        Assert.Equal(120, await database.CountAsync("SELECT progress_total FROM run_stages WHERE run_id = $1", run.RunId));
    }
}
