using Concerto.Ingest.Core.Pipeline;
using Npgsql;
using NpgsqlTypes;

namespace Concerto.Ingest.Storage.Catalog;

/// <summary>The state of each run's stages (table run_stages). A job claims its stage before doing any work; the
/// claim is one UPDATE, so of two jobs racing for the same stage only one wins.</summary>
public sealed class StageLedger(NpgsqlDataSource db)
{
    /// <summary>Claims a run's stage for one execution of a job, as a lease of <paramref name="lease"/> that the execution
    /// renews (<see cref="RenewAsync"/>). Wins when the stage never ran or failed in an earlier batch, when the batch forces
    /// re-runs of succeeded stages, or when this same job held it last and is not running it now: a retry, a requeued
    /// failed job, or a re-delivery after a worker died (once the dead execution's lease has run out). The claim id
    /// (<paramref name="claim"/>, "&lt;job&gt;/&lt;execution&gt;") fences everything the execution writes afterwards: progress,
    /// publishing and the commit check it, so an execution that lost its claim cannot overwrite the one that took it.</summary>
    public async Task<ClaimResult> TryClaimAsync(long runId, string stage, string claim, long batchId, bool force, string worker, TimeSpan lease,
        CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(claim);
        var jobId = JobOf(claim);
        var claimed = await Sql.ListAsync(db, """
            UPDATE run_stages
            SET state = 'running', owner_job = $3, batch_id = $4, worker = $6, executions = executions + 1,
                progress_done = 0, progress_total = 0, error = NULL, started_at = now(), finished_at = NULL, heartbeat_at = now(),
                updated_at = now()
            WHERE run_id = $1 AND stage = $2 AND (
                state = 'pending'
                OR (state = 'failed' AND batch_id IS DISTINCT FROM $4)
                OR (state = 'succeeded' AND $5 AND batch_id IS DISTINCT FROM $4)
                OR (state IN ('retrying', 'failed') AND split_part(owner_job, '/', 1) = $7)
                OR (state = 'running' AND split_part(owner_job, '/', 1) = $7 AND (heartbeat_at IS NULL OR heartbeat_at < now() - $8)))
            RETURNING publishing_key, artifact_key
            """, r => (Publishing: r.Get<string>("publishing_key"), Committed: r.Get<string>("artifact_key")), cancellationToken,
            runId, stage, claim, batchId, force, worker, jobId, lease).ConfigureAwait(false);
        if (claimed.Count == 1)
        {
            var (publishing, committed) = claimed[0];
            return new ClaimResult(ClaimOutcome.Claimed, publishing is not null && publishing != committed ? publishing : null);
        }

        var held = await Sql.ListAsync(db, "SELECT state, owner_job FROM run_stages WHERE run_id = $1 AND stage = $2",
            r => (State: r.GetString(0), Owner: r.Get<string>("owner_job")), cancellationToken, runId, stage).ConfigureAwait(false);
        if (held.Count == 1 && held[0].Owner is { } owner && JobOf(owner) == jobId)
            return new ClaimResult(held[0].State == StageState.Running ? ClaimOutcome.RunningElsewhere : ClaimOutcome.DoneByThisJob, null);
        return new ClaimResult(ClaimOutcome.OtherJob, null);
    }

    /// <summary>The Hangfire job id of a claim id.</summary>
    public static string JobOf(string claim) => claim.Split('/')[0];

    /// <summary>Renews a claim's lease; false when the claim is no longer held (another execution took the stage over).
    /// Never waits for the row: while a transaction has it locked (above all this execution's own commit, which can take
    /// a while for big outputs) the claim counts as renewed, since no one can take it over meanwhile.</summary>
    public async Task<bool> RenewAsync(long runId, string stage, string claim, CancellationToken cancellationToken)
    {
        var result = await Sql.ListAsync(db, """
            WITH target AS (
                SELECT run_id, stage, owner_job = $3 AND state = 'running' AS held FROM run_stages
                WHERE run_id = $1 AND stage = $2 FOR UPDATE SKIP LOCKED),
            renewed AS (
                UPDATE run_stages r SET heartbeat_at = now() FROM target t
                WHERE r.run_id = t.run_id AND r.stage = t.stage AND t.held RETURNING 1)
            SELECT (SELECT count(*) FROM target), (SELECT count(*) FROM renewed)
            """, r => (Unlocked: r.GetInt64(0), Renewed: r.GetInt64(1)), cancellationToken, runId, stage, claim).ConfigureAwait(false);
        return result[0].Unlocked == 0 || result[0].Renewed == 1;
    }

    /// <summary>Records the key a claim is about to publish, before any of it is written (so a crash between publishing and
    /// committing leaves a name for the next execution to delete). False when the claim is no longer held.</summary>
    public async Task<bool> MarkPublishingAsync(long runId, string stage, string claim, string key, CancellationToken cancellationToken) =>
        await Sql.ExecuteAsync(db, """
            UPDATE run_stages SET publishing_key = $4, updated_at = now() WHERE run_id = $1 AND stage = $2 AND owner_job = $3 AND state = 'running'
            """, cancellationToken, runId, stage, claim, key).ConfigureAwait(false) == 1;

    /// <summary>Forgets an uncommitted key once it has been deleted (the claimant's clean-up of a dead execution's outputs).</summary>
    public Task ClearPublishingAsync(long runId, string stage, string claim, CancellationToken cancellationToken) =>
        Sql.ExecuteAsync(db, """
            UPDATE run_stages SET publishing_key = NULL WHERE run_id = $1 AND stage = $2 AND owner_job = $3
            """, cancellationToken, runId, stage, claim);

    /// <summary>Stages held by running executions, with the worker that holds each: "host:pid".</summary>
    public async Task<IReadOnlyList<RunningClaim>> RunningClaimsAsync(CancellationToken cancellationToken) =>
        await Sql.ListAsync(db, """
            SELECT run_id, stage, owner_job, worker FROM run_stages WHERE state = 'running' AND owner_job IS NOT NULL
            """, r => new RunningClaim(r.GetInt64(0), r.GetString(1), r.GetString(2), r.Get<string>("worker")), cancellationToken)
            .ConfigureAwait(false);

    /// <summary>Ends a claim's lease now, for a claim whose process is known to be dead, so its job can re-claim at once.</summary>
    public async Task<bool> ExpireLeaseAsync(long runId, string stage, string claim, CancellationToken cancellationToken) =>
        await Sql.ExecuteAsync(db, """
            UPDATE run_stages SET heartbeat_at = NULL WHERE run_id = $1 AND stage = $2 AND owner_job = $3 AND state = 'running'
            """, cancellationToken, runId, stage, claim).ConfigureAwait(false) == 1;

    public Task ReportProgressAsync(long runId, string stage, string jobId, long done, long total, CancellationToken cancellationToken) =>
        Sql.ExecuteAsync(db, """
            UPDATE run_stages SET progress_done = $4, progress_total = $5, updated_at = now()
            WHERE run_id = $1 AND stage = $2 AND owner_job = $3 AND state = 'running'
            """, cancellationToken, runId, stage, jobId, done, total);

    /// <summary>Records a failure. <paramref name="final"/> false means the job system will retry. A stage that has
    /// already committed its outputs stays succeeded.</summary>
    public Task FailAsync(long runId, string stage, string jobId, string error, bool final, CancellationToken cancellationToken) =>
        Sql.ExecuteAsync(db, """
            UPDATE run_stages SET state = $4, error = $5, finished_at = CASE WHEN $6 THEN now() END, updated_at = now()
            WHERE run_id = $1 AND stage = $2 AND owner_job = $3 AND state <> 'succeeded'
            """, cancellationToken, runId, stage, jobId, final ? StageState.Failed : StageState.Retrying, error, final);

    /// <summary>Marks failed whatever stage the job still holds, after the job system gave up on it.</summary>
    public Task AbandonAsync(string jobId, string reason, CancellationToken cancellationToken) =>
        Sql.ExecuteAsync(db, """
            UPDATE run_stages SET state = 'failed', error = coalesce(error, $2), finished_at = now(), updated_at = now()
            WHERE split_part(owner_job, '/', 1) = $1 AND state IN ('running', 'retrying')
            """, cancellationToken, jobId, reason);

    /// <summary>A run's stage state (null when the run has no such stage).</summary>
    public async Task<string?> StateAsync(long runId, string stage, CancellationToken cancellationToken) =>
        (await Sql.ListAsync(db, "SELECT state FROM run_stages WHERE run_id = $1 AND stage = $2", r => r.GetString(0), cancellationToken, runId, stage)
            .ConfigureAwait(false)).FirstOrDefault();

    /// <summary>The artifact folder the stage's committed row points at (null when none).</summary>
    public async Task<string?> ArtifactKeyAsync(long runId, string stage, CancellationToken cancellationToken)
    {
        var keys = await Sql.ListAsync(db, "SELECT artifact_key FROM run_stages WHERE run_id = $1 AND stage = $2",
            r => r.Get<string>("artifact_key"), cancellationToken, runId, stage).ConfigureAwait(false);
        return keys.FirstOrDefault();
    }

    /// <summary>First step of a stage's commit transaction: locks the stage row and checks that this job still holds
    /// it (so a stale job fails before writing anything). Returns the previous execution's artifact folder.</summary>
    public static async Task<string?> LockHeldAsync(NpgsqlConnection connection, NpgsqlTransaction tx, long runId, string stage,
        string jobId, CancellationToken cancellationToken)
    {
        await using var command = Sql.Command(connection, tx, """
            SELECT artifact_key, owner_job = $3 AND state = 'running' FROM run_stages WHERE run_id = $1 AND stage = $2 FOR UPDATE
            """, runId, stage, jobId);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        if (!await reader.ReadAsync(cancellationToken).ConfigureAwait(false) || !reader.GetBoolean(1))
            throw new InvalidOperationException($"run {runId} stage {stage} is no longer held by job {jobId}; its outputs were not committed");
        return reader.IsDBNull(0) ? null : reader.GetString(0);
    }

    /// <summary>Last step of a stage's commit transaction (after <see cref="LockHeldAsync"/>).</summary>
    public static async Task MarkSucceededAsync(NpgsqlConnection connection, NpgsqlTransaction tx, long runId, string stage,
        string? artifactKey, string metricsJson, CancellationToken cancellationToken)
    {
        await using var command = Sql.Command(connection, tx, """
            UPDATE run_stages SET state = 'succeeded', artifact_key = $3, metrics = $4, progress_done = progress_total,
                publishing_key = NULL, finished_at = now(), updated_at = now()
            WHERE run_id = $1 AND stage = $2
            """, runId, stage, artifactKey, metricsJson);
        command.Parameters[3].NpgsqlDbType = NpgsqlDbType.Jsonb;
        await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        // Scenario tests stop a worker here, inside the open transaction, and kill it (see FaultPoints).
        await FaultPoints.ReachAsync($"{stage}:index", cancellationToken).ConfigureAwait(false);
    }
}

public enum ClaimOutcome
{
    Claimed,

    /// <summary>Another job holds the stage or has done it (the same video in another batch, or twice in this one).</summary>
    OtherJob,

    /// <summary>An earlier execution of this same job still holds a live lease (a re-delivery while it runs).</summary>
    RunningElsewhere,

    /// <summary>This same job already finished the stage (a stray re-delivery).</summary>
    DoneByThisJob,
}

/// <param name="Orphan">A key a dead execution of the stage published (or began to) without committing: delete it.</param>
public sealed record ClaimResult(ClaimOutcome Outcome, string? Orphan);

/// <summary>A running stage's claim.</summary>
public sealed record RunningClaim(long RunId, string Stage, string Claim, string? Worker);
