using System.Text.Json;
using Npgsql;
using NpgsqlTypes;

namespace Concerto.Ingest.Storage.Catalog;

/// <summary>A training run as recorded in PostgreSQL.</summary>
public sealed record TrainingRunRow(long Id, string Kind, string OutputDir, long? DatasetVersionId, string Dataset, string ProfileHash,
    string ModelSize, int Seed, long TotalSteps, long Step, string State, string? JobId, string? Error, string? ResultsJson,
    DateTime CreatedAt, DateTime UpdatedAt, DateTime? FinishedAt);

/// <summary>What a new (or resumed) training run records about itself.</summary>
public sealed record TrainingRunStart(string Kind, string OutputDir, long? DatasetVersionId, string Dataset, string ProfileJson, string ProfileHash,
    string ModelSize, int Seed, long TotalSteps, string? JobId);

/// <summary>One step's metrics.</summary>
public sealed record TrainingMetricRow(long Step, int Epoch, double Seconds, double LearningRate, double WeightDecay, IReadOnlyDictionary<string, double> Values);

/// <summary>Training runs and their per-step metrics. A run is identified by its output folder, so a resumed run
/// continues its row; metrics are keyed by (run, step) and a resumed run's re-done steps replace the old rows.</summary>
public sealed class TrainingRunStore(NpgsqlDataSource db)
{
    /// <summary>Creates the run's row, or takes over the existing row of the same output folder (a resume), marking it running.</summary>
    public async Task<long> StartAsync(TrainingRunStart start, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(start);
        await using var connection = await db.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var command = Sql.Command(connection, null, """
            INSERT INTO training_runs (kind, output_dir, dataset_version_id, dataset, profile, profile_hash, model_size, seed, total_steps, job_id)
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
            ON CONFLICT (output_dir) DO UPDATE SET state = 'running', job_id = EXCLUDED.job_id, error = NULL, finished_at = NULL,
                total_steps = EXCLUDED.total_steps, updated_at = now()
            RETURNING id
            """, start.Kind, start.OutputDir, start.DatasetVersionId, start.Dataset, start.ProfileJson, start.ProfileHash, start.ModelSize,
            start.Seed, start.TotalSteps, start.JobId);
        command.Parameters[2].NpgsqlDbType = NpgsqlDbType.Bigint;
        command.Parameters[4].NpgsqlDbType = NpgsqlDbType.Jsonb;
        command.Parameters[9].NpgsqlDbType = NpgsqlDbType.Text;
        return (long)(await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false))!;
    }

    /// <summary>Records a step's metrics (replacing a row of the same step from before a resume) and the run's progress.</summary>
    public async Task RecordAsync(long runId, TrainingMetricRow row, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(row);
        await using var connection = await db.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var batch = new NpgsqlBatch(connection);
        var insert = new NpgsqlBatchCommand("""
            INSERT INTO training_metrics (run_id, step, epoch, seconds, learning_rate, weight_decay, metric_values)
            VALUES ($1, $2, $3, $4, $5, $6, $7)
            ON CONFLICT (run_id, step) DO UPDATE SET epoch = EXCLUDED.epoch, seconds = EXCLUDED.seconds,
                learning_rate = EXCLUDED.learning_rate, weight_decay = EXCLUDED.weight_decay, metric_values = EXCLUDED.metric_values
            """);
        insert.Parameters.Add(new NpgsqlParameter { Value = runId });
        insert.Parameters.Add(new NpgsqlParameter { Value = row.Step });
        insert.Parameters.Add(new NpgsqlParameter { Value = row.Epoch });
        insert.Parameters.Add(new NpgsqlParameter { Value = row.Seconds });
        insert.Parameters.Add(new NpgsqlParameter { Value = row.LearningRate });
        insert.Parameters.Add(new NpgsqlParameter { Value = row.WeightDecay });
        insert.Parameters.Add(new NpgsqlParameter { Value = JsonSerializer.Serialize(row.Values), NpgsqlDbType = NpgsqlDbType.Jsonb });
        var progress = new NpgsqlBatchCommand("UPDATE training_runs SET step = GREATEST(step, $2), updated_at = now() WHERE id = $1");
        progress.Parameters.Add(new NpgsqlParameter { Value = runId });
        progress.Parameters.Add(new NpgsqlParameter { Value = row.Step });
        batch.BatchCommands.Add(insert);
        batch.BatchCommands.Add(progress);
        await batch.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Ends a run: succeeded, failed (with the error) or cancelled, with optional results JSON.</summary>
    public Task FinishAsync(long runId, string state, string? error, string? resultsJson, CancellationToken cancellationToken) =>
        Sql.ExecuteAsync(db, """
            UPDATE training_runs SET state = $2, error = $3, results = COALESCE($4::jsonb, results), finished_at = now(), updated_at = now()
            WHERE id = $1
            """, cancellationToken, runId, state, (object?)error ?? DBNull.Value, (object?)resultsJson ?? DBNull.Value);

    public async Task<TrainingRunRow?> GetAsync(long runId, CancellationToken cancellationToken) =>
        (await Sql.ListAsync(db, Select + " WHERE id = $1", Read, cancellationToken, runId).ConfigureAwait(false)).FirstOrDefault();

    /// <summary>Runs, newest first.</summary>
    public Task<List<TrainingRunRow>> ListAsync(int limit, CancellationToken cancellationToken) =>
        Sql.ListAsync(db, Select + " ORDER BY id DESC LIMIT $1", Read, cancellationToken, limit);

    /// <summary>A run's metrics in step order.</summary>
    public Task<List<TrainingMetricRow>> MetricsAsync(long runId, CancellationToken cancellationToken) =>
        Sql.ListAsync(db, """
            SELECT step, epoch, seconds, learning_rate, weight_decay, metric_values::text FROM training_metrics WHERE run_id = $1 ORDER BY step
            """, r => new TrainingMetricRow(r.GetInt64(0), r.GetInt32(1), r.GetDouble(2), r.GetDouble(3), r.GetDouble(4),
            JsonSerializer.Deserialize<Dictionary<string, double>>(r.GetString(5))!), cancellationToken, runId);

    private const string Select = """
        SELECT id, kind, output_dir, dataset_version_id, dataset, profile_hash, model_size, seed, total_steps, step, state, job_id, error,
               results::text, created_at, updated_at, finished_at
        FROM training_runs
        """;

    private static TrainingRunRow Read(NpgsqlDataReader r) => new(r.GetInt64(0), r.GetString(1), r.GetString(2), r.IsDBNull(3) ? null : r.GetInt64(3),
        r.GetString(4), r.GetString(5), r.GetString(6), r.GetInt32(7), r.GetInt64(8), r.GetInt64(9), r.GetString(10), r.IsDBNull(11) ? null : r.GetString(11),
        r.IsDBNull(12) ? null : r.GetString(12), r.IsDBNull(13) ? null : r.GetString(13), r.GetDateTime(14), r.GetDateTime(15),
        r.IsDBNull(16) ? null : r.GetDateTime(16));
}
