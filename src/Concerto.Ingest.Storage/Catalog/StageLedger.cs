using Concerto.Ingest.Core.Pipeline;
using Npgsql;
using NpgsqlTypes;

namespace Concerto.Ingest.Storage.Catalog;

/// <summary>The state of each run's stages (table run_stages). A job claims its stage before doing any work; the
/// claim is one UPDATE, so of two jobs racing for the same stage only one wins.</summary>
public sealed class StageLedger(NpgsqlDataSource db)
{
    /// <summary>Claims a run's stage for a job. Wins when the stage never ran or failed in an earlier batch, when the
    /// batch forces re-runs of succeeded stages, or when this same job held it last (a retry, a re-delivery after a
    /// worker died, or a failed job requeued from the dashboard). Returns false when another job has it or the work is
    /// already done.</summary>
    public async Task<bool> TryClaimAsync(long runId, string stage, string jobId, long batchId, bool force, string worker,
        CancellationToken cancellationToken)
    {
        var updated = await Sql.ExecuteAsync(db, """
            UPDATE run_stages
            SET state = 'running', owner_job = $3, batch_id = $4, worker = $6, executions = executions + 1,
                progress_done = 0, progress_total = 0, error = NULL, started_at = now(), finished_at = NULL, updated_at = now()
            WHERE run_id = $1 AND stage = $2 AND (
                state = 'pending'
                OR (state = 'failed' AND batch_id IS DISTINCT FROM $4)
                OR (state = 'succeeded' AND $5 AND batch_id IS DISTINCT FROM $4)
                OR (state IN ('running', 'retrying', 'failed') AND owner_job = $3))
            """, cancellationToken, runId, stage, jobId, batchId, force, worker).ConfigureAwait(false);
        return updated == 1;
    }

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
            WHERE owner_job = $1 AND state IN ('running', 'retrying')
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
                finished_at = now(), updated_at = now()
            WHERE run_id = $1 AND stage = $2
            """, runId, stage, artifactKey, metricsJson);
        command.Parameters[3].NpgsqlDbType = NpgsqlDbType.Jsonb;
        await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }
}
