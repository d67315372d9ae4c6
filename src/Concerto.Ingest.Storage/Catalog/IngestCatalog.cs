using Concerto.Ingest.Core.Media;
using Concerto.Ingest.Core.Pipeline;
using Concerto.Ingest.Core.Profiles;
using Npgsql;
using NpgsqlTypes;

namespace Concerto.Ingest.Storage.Catalog;

public sealed record SourceRow(long Id, long BatchId, string Path, string State, long? VideoId, long? RunId, string ProfileHash, bool Force);

/// <summary>Profiles, ingest batches, sources, videos and runs: what was submitted and what it turned out to be.</summary>
public sealed class IngestCatalog(NpgsqlDataSource db)
{
    public async Task EnsureProfileAsync(ProfileDocument profile, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(profile);
        await using var connection = await db.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var command = Sql.Command(connection, null,
            "INSERT INTO profiles (hash, name, version, body) VALUES ($1, $2, $3, $4) ON CONFLICT (hash) DO NOTHING",
            profile.Hash, profile.Profile.Name, profile.Profile.Version, profile.CanonicalJson);
        command.Parameters[3].NpgsqlDbType = NpgsqlDbType.Jsonb;
        await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Records a batch and one source per path, in one transaction; returns the batch id and source ids in order.</summary>
    public async Task<(long BatchId, IReadOnlyList<long> SourceIds)> CreateBatchAsync(
        string profileHash, bool force, IReadOnlyList<string> paths, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(paths);
        await using var connection = await db.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var tx = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
        var batchId = await Sql.ScalarAsync<long>(connection, tx,
            "INSERT INTO ingest_batches (profile_hash, force) VALUES ($1, $2) RETURNING id", cancellationToken, profileHash, force)
            .ConfigureAwait(false);
        var ids = new List<long>(paths.Count);
        await using (var insert = Sql.Command(connection, tx, """
            INSERT INTO sources (batch_id, path) SELECT $1, p FROM unnest($2::text[]) WITH ORDINALITY AS t(p, n) ORDER BY n RETURNING id
            """, batchId, paths.ToArray()))
        await using (var reader = await insert.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false))
        {
            while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false)) ids.Add(reader.GetInt64(0));
        }

        await tx.CommitAsync(cancellationToken).ConfigureAwait(false);
        return (batchId, ids);
    }

    public async Task<SourceRow> GetSourceAsync(long sourceId, CancellationToken cancellationToken)
    {
        var rows = await Sql.ListAsync(db, """
            SELECT s.id, s.batch_id, s.path, s.state, s.video_id, s.run_id, b.profile_hash, b.force
            FROM sources s JOIN ingest_batches b ON b.id = s.batch_id WHERE s.id = $1
            """,
            r => new SourceRow(r.GetInt64(0), r.GetInt64(1), r.GetString(2), r.GetString(3), r.Get<long?>("video_id"),
                r.Get<long?>("run_id"), r.GetString(6), r.GetBoolean(7)),
            cancellationToken, sourceId).ConfigureAwait(false);
        return rows.Count == 1 ? rows[0] : throw new KeyNotFoundException($"source {sourceId} does not exist");
    }

    public async Task<string> GetProfileJsonAsync(string hash, CancellationToken cancellationToken)
    {
        var rows = await Sql.ListAsync(db, "SELECT body::text FROM profiles WHERE hash = $1", r => r.GetString(0), cancellationToken, hash)
            .ConfigureAwait(false);
        return rows.Count == 1 ? rows[0] : throw new KeyNotFoundException($"profile {hash} is not in the database");
    }

    /// <summary>Marks a source as being probed; counts executions (each is one real start of the stage's work).</summary>
    public Task StartProbeAsync(long sourceId, string worker, CancellationToken cancellationToken) =>
        Sql.ExecuteAsync(db, """
            UPDATE sources SET state = 'running', probe_executions = probe_executions + 1, worker = $2, error = NULL,
                started_at = now(), updated_at = now()
            WHERE id = $1
            """, cancellationToken, sourceId, worker);

    /// <summary>Records the probed video (deduplicated by content hash) and its run for the batch's profile, and
    /// links the source to both, in one transaction. Returns the run id.</summary>
    public async Task<long> CompleteProbeAsync(long sourceId, string profileHash, byte[] sha256, long sizeBytes, string path,
        VideoInfo video, string worker, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(video);
        await using var connection = await db.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var tx = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
        // ON CONFLICT ... DO UPDATE (a no-op) so RETURNING yields the existing row's id too.
        var videoId = await Sql.ScalarAsync<long>(connection, tx, """
            INSERT INTO videos (sha256, size_bytes, path, container, codec, width, height, rotation, frame_rate, duration_s, frame_count, has_audio)
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
            ON CONFLICT (sha256) DO UPDATE SET sha256 = EXCLUDED.sha256
            RETURNING id
            """, cancellationToken, sha256, sizeBytes, path, video.Container, video.Codec, video.Width, video.Height, video.Rotation,
            video.FrameRate, video.DurationSeconds, video.FrameCount, video.HasAudio).ConfigureAwait(false);
        var runId = await Sql.ScalarAsync<long>(connection, tx, """
            INSERT INTO runs (video_id, profile_hash) VALUES ($1, $2)
            ON CONFLICT (video_id, profile_hash) DO UPDATE SET profile_hash = EXCLUDED.profile_hash
            RETURNING id
            """, cancellationToken, videoId, profileHash).ConfigureAwait(false);
        // The probe's own row (counting every source that probed this content) shows in status beside later stages.
        await Sql.ExecuteAsync(connection, tx, """
            INSERT INTO run_stages (run_id, stage, state, executions, worker, started_at, finished_at)
            SELECT $1, $2, 'succeeded', 1, $3, started_at, now() FROM sources WHERE id = $4
            ON CONFLICT (run_id, stage) DO UPDATE SET executions = run_stages.executions + 1, worker = EXCLUDED.worker,
                started_at = EXCLUDED.started_at, finished_at = now(), updated_at = now()
            """, cancellationToken, runId, Stage.Probe, worker, sourceId).ConfigureAwait(false);
        foreach (var stage in Stage.All.Where(s => s != Stage.Probe))
            await Sql.ExecuteAsync(connection, tx, "INSERT INTO run_stages (run_id, stage) VALUES ($1, $2) ON CONFLICT DO NOTHING",
                cancellationToken, runId, stage).ConfigureAwait(false);
        await Sql.ExecuteAsync(connection, tx, "UPDATE sources SET state = $4, video_id = $2, run_id = $3, updated_at = now() WHERE id = $1",
            cancellationToken, sourceId, videoId, runId, SourceState.Probed).ConfigureAwait(false);
        await tx.CommitAsync(cancellationToken).ConfigureAwait(false);
        return runId;
    }

    /// <summary>Every path a run's video was ingested from (the same bytes can live under several names), newest first.</summary>
    public async Task<IReadOnlyList<string>> GetRunPathsAsync(long runId, CancellationToken cancellationToken)
    {
        var rows = await Sql.ListAsync(db, """
            SELECT path FROM (SELECT path, max(id) AS latest FROM sources WHERE run_id = $1 GROUP BY path) p ORDER BY latest DESC
            """, r => r.GetString(0), cancellationToken, runId).ConfigureAwait(false);
        return rows.Count > 0 ? rows : throw new KeyNotFoundException($"run {runId} does not exist; `concerto status` lists the runs");
    }

    public async Task<VideoInfo> GetVideoInfoAsync(long videoId, CancellationToken cancellationToken)
    {
        var rows = await Sql.ListAsync(db, """
            SELECT container, codec, width, height, rotation, frame_rate, duration_s, frame_count, has_audio FROM videos WHERE id = $1
            """, r => new VideoInfo(r.GetString(0), r.GetString(1), r.GetInt32(2), r.GetInt32(3), r.GetInt32(4), r.GetDouble(5),
                r.GetDouble(6), r.Get<long?>("frame_count"), r.GetBoolean(8)),
            cancellationToken, videoId).ConfigureAwait(false);
        return rows.Count == 1 ? rows[0] : throw new KeyNotFoundException($"video {videoId} does not exist");
    }

    /// <summary>The SHA-256 (hex) of a video's bytes: its identity across databases.</summary>
    public async Task<string> GetVideoHashAsync(long videoId, CancellationToken cancellationToken)
    {
        var rows = await Sql.ListAsync(db, "SELECT encode(sha256, 'hex') FROM videos WHERE id = $1", r => r.GetString(0), cancellationToken, videoId)
            .ConfigureAwait(false);
        return rows.Count == 1 ? rows[0] : throw new KeyNotFoundException($"video {videoId} does not exist");
    }

    /// <summary>Sets where a source stands after its own jobs ran (see <see cref="SourceState"/>).</summary>
    /// <summary>Ends a source; a success clears the error an earlier, retried attempt recorded.</summary>
    public Task SetSourceStateAsync(long sourceId, string state, CancellationToken cancellationToken) =>
        Sql.ExecuteAsync(db, """
            UPDATE sources SET state = $2, error = CASE WHEN $2 IN ('succeeded', 'linked') THEN NULL ELSE error END,
                finished_at = now(), updated_at = now()
            WHERE id = $1
            """, cancellationToken, sourceId, state);

    /// <summary>Marks a source failed after the job system gave up on its job, unless it already ended.</summary>
    public Task AbandonSourceAsync(long sourceId, string reason, CancellationToken cancellationToken) =>
        Sql.ExecuteAsync(db, """
            UPDATE sources SET state = 'failed', error = coalesce(error, $2), finished_at = now(), updated_at = now()
            WHERE id = $1 AND state NOT IN ('succeeded', 'failed', 'rejected', 'linked')
            """, cancellationToken, sourceId, reason);

    /// <summary>Records an error: final (failed, rejected) or while Hangfire retries (retrying). Never overwrites a
    /// source that already succeeded.</summary>
    public Task FailSourceAsync(long sourceId, string state, string error, CancellationToken cancellationToken) =>
        Sql.ExecuteAsync(db, """
            UPDATE sources SET state = $2, error = $3, finished_at = CASE WHEN $2 = 'retrying' THEN NULL ELSE now() END, updated_at = now()
            WHERE id = $1 AND state <> 'succeeded'
            """, cancellationToken, sourceId, state, error);
}
