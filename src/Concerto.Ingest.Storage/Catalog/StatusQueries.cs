using Concerto.Ingest.Core.Pipeline;
using Npgsql;

namespace Concerto.Ingest.Storage.Catalog;

/// <summary>One source of a batch as the progress display sees it: its own state, the run's active stage (the first
/// not yet succeeded, with its progress) and the state of the run's last stage.</summary>
public sealed record SourceProgress(
    long SourceId, string Path, string SourceState, string? SourceError, long? VideoId, long? RunId,
    string? ActiveStage, string? ActiveState, long ProgressDone, long ProgressTotal, string? FinalState, string? StageError,
    int Keyframes, int? ScenePoints, int Segments, DateTime? StartedAt, DateTime? FinishedAt,
    string? ReconstructMethod = null, string? ReconstructSkipped = null)
{
    /// <summary>Finished: ended by this source's own jobs, or linked to a run whose last stage has ended.</summary>
    public bool IsFinished => SourceState is Core.Pipeline.SourceState.Succeeded or Core.Pipeline.SourceState.Failed or Core.Pipeline.SourceState.Rejected
                              || (SourceState == Core.Pipeline.SourceState.Linked && FinalState is StageState.Succeeded or StageState.Failed);

    public bool Succeeded => SourceState == Core.Pipeline.SourceState.Succeeded
                             || (SourceState == Core.Pipeline.SourceState.Linked && FinalState == StageState.Succeeded);

    public string? Error => SourceError ?? StageError;
}

public sealed record RunSummary(
    long RunId, long VideoId, string Path, string ProfileName, string ProfileHash, int Width, int Height, double DurationSeconds,
    IReadOnlyList<StageSummary> Stages, int Keyframes, DateTime UpdatedAt, int Segments);

/// <param name="Skipped">Why a stage that ended made nothing (no scene to reconstruct or segment, no segment formed,
/// no teacher set): the reason its metrics record.</param>
public sealed record StageSummary(string Stage, string State, long ProgressDone, long ProgressTotal, int Executions, string? Error,
    string? Worker, DateTime? StartedAt, DateTime? FinishedAt, string? Skipped = null);

/// <summary>Read-only views for the CLI progress display, `concerto status` and the server.</summary>
public sealed class StatusQueries(NpgsqlDataSource db)
{
    public async Task<IReadOnlyList<SourceProgress>> BatchProgressAsync(long batchId, CancellationToken cancellationToken) =>
        await Sql.ListAsync(db, """
            SELECT s.id, s.path, s.state, s.error, s.video_id, s.run_id,
                   act.stage AS active_stage, act.state AS active_state, coalesce(act.progress_done, 0), coalesce(act.progress_total, 0),
                   fin.state AS final_state,
                   (SELECT e.error FROM run_stages e WHERE e.run_id = s.run_id AND e.state IN ('failed', 'retrying')
                    ORDER BY array_position($2, e.stage) LIMIT 1) AS stage_error,
                   (SELECT count(*) FROM keyframes k WHERE k.run_id = s.run_id)::int,
                   (SELECT points FROM reconstructions r WHERE r.run_id = s.run_id) AS scene_points,
                   (SELECT count(*) FROM segments g WHERE g.run_id = s.run_id AND g.retired_at IS NULL)::int,
                   s.started_at, s.finished_at,
                   (SELECT method FROM reconstructions r WHERE r.run_id = s.run_id) AS reconstruct_method,
                   (SELECT e.metrics->>'skipped' FROM run_stages e WHERE e.run_id = s.run_id AND e.stage = $4) AS reconstruct_skipped
            FROM sources s
            LEFT JOIN LATERAL (SELECT stage, state, progress_done, progress_total FROM run_stages r
                               WHERE r.run_id = s.run_id AND r.state <> 'succeeded' ORDER BY array_position($2, r.stage) LIMIT 1) act ON true
            LEFT JOIN run_stages fin ON fin.run_id = s.run_id AND fin.stage = $3
            WHERE s.batch_id = $1
            ORDER BY s.id
            """,
            r => new SourceProgress(r.GetInt64(0), r.GetString(1), r.GetString(2), r.Get<string>("error"), r.Get<long?>("video_id"),
                r.Get<long?>("run_id"), r.Get<string>("active_stage"), r.Get<string>("active_state"), r.GetInt64(8), r.GetInt64(9),
                r.Get<string>("final_state"), r.Get<string>("stage_error"), r.GetInt32(12), r.Get<int?>("scene_points"), r.GetInt32(14),
                r.Get<DateTime?>("started_at"), r.Get<DateTime?>("finished_at"), r.Get<string>("reconstruct_method"), r.Get<string>("reconstruct_skipped")),
            cancellationToken, batchId, Stage.All.ToArray(), Stage.Last, Stage.Reconstruct).ConfigureAwait(false);

    public Task<IReadOnlyList<RunSummary>> RecentRunsAsync(int limit, CancellationToken cancellationToken) =>
        RunsAsync(limit, updatedAfter: null, runId: null, cancellationToken);

    /// <summary>The most recent runs (newest first), only those changed after <paramref name="updatedAfter"/> when given
    /// (what a live view polls for), or the one run <paramref name="runId"/>.</summary>
    public async Task<IReadOnlyList<RunSummary>> RunsAsync(int limit, DateTime? updatedAfter, long? runId, CancellationToken cancellationToken)
    {
        var runs = await Sql.ListAsync(db, """
            SELECT * FROM (
                SELECT r.id, v.id AS video_id, v.path, p.name, p.hash, v.width, v.height, v.duration_s,
                       (SELECT count(*) FROM keyframes k WHERE k.run_id = r.id)::int AS keyframes,
                       coalesce((SELECT max(updated_at) FROM run_stages WHERE run_id = r.id), r.created_at) AS updated_at,
                       (SELECT count(*) FROM segments g WHERE g.run_id = r.id AND g.retired_at IS NULL)::int AS segments
                FROM runs r JOIN videos v ON v.id = r.video_id JOIN profiles p ON p.hash = r.profile_hash
                WHERE $3::bigint IS NULL OR r.id = $3) x
            WHERE $2::timestamptz IS NULL OR updated_at > $2
            ORDER BY id DESC LIMIT $1
            """,
            r => (Id: r.GetInt64(0), VideoId: r.GetInt64(1), Path: r.GetString(2), Profile: r.GetString(3), Hash: r.GetString(4),
                W: r.GetInt32(5), H: r.GetInt32(6), D: r.GetDouble(7), K: r.GetInt32(8), U: r.GetDateTime(9), S: r.GetInt32(10)),
            cancellationToken, limit, updatedAfter, runId).ConfigureAwait(false);
        if (runs.Count == 0) return [];

        var stages = await Sql.ListAsync(db, """
            SELECT run_id, stage, state, progress_done, progress_total, executions, error, worker, started_at, finished_at,
                   metrics->>'skipped' AS skipped
            FROM run_stages WHERE run_id = ANY($1) ORDER BY run_id, array_position($2, stage)
            """,
            r => (RunId: r.GetInt64(0), Stage: new StageSummary(r.GetString(1), r.GetString(2), r.GetInt64(3), r.GetInt64(4), r.GetInt32(5),
                r.Get<string>("error"), r.Get<string>("worker"), r.Get<DateTime?>("started_at"), r.Get<DateTime?>("finished_at"), r.Get<string>("skipped"))),
            cancellationToken, runs.Select(r => r.Id).ToArray(), Stage.All.ToArray()).ConfigureAwait(false);
        var byRun = stages.ToLookup(s => s.RunId, s => s.Stage);

        return runs.Select(r => new RunSummary(r.Id, r.VideoId, r.Path, r.Profile, r.Hash, r.W, r.H, r.D, byRun[r.Id].ToList(), r.K, r.U, r.S))
            .ToList();
    }

    /// <summary>Sources rejected as bad input, or failed before they had a run, most recent first.</summary>
    public async Task<IReadOnlyList<(long SourceId, string Path, string Error, DateTime At)>> RecentRejectsAsync(int limit, CancellationToken cancellationToken) =>
        await Sql.ListAsync(db, """
            SELECT id, path, coalesce(error, ''), updated_at FROM sources WHERE state = 'rejected' OR (state = 'failed' AND run_id IS NULL) ORDER BY id DESC LIMIT $1
            """, r => (r.GetInt64(0), r.GetString(1), r.GetString(2), r.GetDateTime(3)), cancellationToken, limit).ConfigureAwait(false);
}
