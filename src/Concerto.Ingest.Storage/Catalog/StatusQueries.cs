using Concerto.Ingest.Core.Pipeline;
using Npgsql;

namespace Concerto.Ingest.Storage.Catalog;

/// <summary>One source of a batch as the progress display sees it: its own (probe) state and its run's decode stage.</summary>
public sealed record SourceProgress(
    long SourceId, string Path, string SourceState, string? SourceError, long? VideoId, long? RunId,
    string? DecodeState, string? DecodeError, long ProgressDone, long ProgressTotal, int Keyframes, int DecodeExecutions,
    DateTime? StartedAt, DateTime? FinishedAt)
{
    /// <summary>Finished: ended by this source's own jobs, or linked to a run whose stage has ended.</summary>
    public bool IsFinished => SourceState is Core.Pipeline.SourceState.Succeeded or Core.Pipeline.SourceState.Failed or Core.Pipeline.SourceState.Rejected
                              || (SourceState == Core.Pipeline.SourceState.Linked && DecodeState is StageState.Succeeded or StageState.Failed);

    public bool Succeeded => SourceState == Core.Pipeline.SourceState.Succeeded
                             || (SourceState == Core.Pipeline.SourceState.Linked && DecodeState == StageState.Succeeded);

    public string? Error => SourceError ?? DecodeError;
}

public sealed record RunSummary(
    long RunId, long VideoId, string Path, string ProfileName, string ProfileHash, int Width, int Height, double DurationSeconds,
    IReadOnlyList<StageSummary> Stages, int Keyframes, DateTime UpdatedAt);

public sealed record StageSummary(string Stage, string State, long ProgressDone, long ProgressTotal, int Executions, string? Error,
    string? Worker, DateTime? StartedAt, DateTime? FinishedAt);

/// <summary>Read-only views for the CLI progress display, `concerto status` and the server.</summary>
public sealed class StatusQueries(NpgsqlDataSource db)
{
    public async Task<IReadOnlyList<SourceProgress>> BatchProgressAsync(long batchId, CancellationToken cancellationToken) =>
        await Sql.ListAsync(db, """
            SELECT s.id, s.path, s.state, s.error, s.video_id, s.run_id,
                   rs.state AS decode_state, rs.error AS decode_error, rs.progress_done, rs.progress_total,
                   (SELECT count(*) FROM keyframes k WHERE k.run_id = s.run_id)::int AS keyframes,
                   coalesce(rs.executions, 0) AS executions, s.started_at, s.finished_at
            FROM sources s
            LEFT JOIN run_stages rs ON rs.run_id = s.run_id AND rs.stage = 'decode'
            WHERE s.batch_id = $1
            ORDER BY s.id
            """,
            r => new SourceProgress(r.GetInt64(0), r.GetString(1), r.GetString(2), r.Get<string>("error"), r.Get<long?>("video_id"),
                r.Get<long?>("run_id"), r.Get<string>("decode_state"), r.Get<string>("decode_error"), r.Get<long?>("progress_done") ?? 0,
                r.Get<long?>("progress_total") ?? 0, r.GetInt32(10), r.GetInt32(11), r.Get<DateTime?>("started_at"),
                r.Get<DateTime?>("finished_at")),
            cancellationToken, batchId).ConfigureAwait(false);

    public async Task<IReadOnlyList<RunSummary>> RecentRunsAsync(int limit, CancellationToken cancellationToken)
    {
        var runs = await Sql.ListAsync(db, """
            SELECT r.id, v.id, v.path, p.name, p.hash, v.width, v.height, v.duration_s,
                   (SELECT count(*) FROM keyframes k WHERE k.run_id = r.id)::int,
                   coalesce((SELECT max(updated_at) FROM run_stages WHERE run_id = r.id), r.created_at)
            FROM runs r JOIN videos v ON v.id = r.video_id JOIN profiles p ON p.hash = r.profile_hash
            ORDER BY r.id DESC LIMIT $1
            """,
            r => (Id: r.GetInt64(0), VideoId: r.GetInt64(1), Path: r.GetString(2), Profile: r.GetString(3), Hash: r.GetString(4),
                W: r.GetInt32(5), H: r.GetInt32(6), D: r.GetDouble(7), K: r.GetInt32(8), U: r.GetDateTime(9)),
            cancellationToken, limit).ConfigureAwait(false);
        if (runs.Count == 0) return [];

        var stages = await Sql.ListAsync(db, """
            SELECT run_id, stage, state, progress_done, progress_total, executions, error, worker, started_at, finished_at
            FROM run_stages WHERE run_id = ANY($1) ORDER BY run_id, array_position($2, stage)
            """,
            r => (RunId: r.GetInt64(0), Stage: new StageSummary(r.GetString(1), r.GetString(2), r.GetInt64(3), r.GetInt64(4), r.GetInt32(5),
                r.Get<string>("error"), r.Get<string>("worker"), r.Get<DateTime?>("started_at"), r.Get<DateTime?>("finished_at"))),
            cancellationToken, runs.Select(r => r.Id).ToArray(), Stage.All.ToArray()).ConfigureAwait(false);
        var byRun = stages.ToLookup(s => s.RunId, s => s.Stage);

        return runs.Select(r => new RunSummary(r.Id, r.VideoId, r.Path, r.Profile, r.Hash, r.W, r.H, r.D, byRun[r.Id].ToList(), r.K, r.U))
            .ToList();
    }

    /// <summary>Sources rejected as bad input, or failed before they had a run, most recent first.</summary>
    public async Task<IReadOnlyList<(long SourceId, string Path, string Error, DateTime At)>> RecentRejectsAsync(int limit, CancellationToken cancellationToken) =>
        await Sql.ListAsync(db, """
            SELECT id, path, coalesce(error, ''), updated_at FROM sources WHERE state = 'rejected' OR (state = 'failed' AND run_id IS NULL) ORDER BY id DESC LIMIT $1
            """, r => (r.GetInt64(0), r.GetString(1), r.GetString(2), r.GetDateTime(3)), cancellationToken, limit).ConfigureAwait(false);
}
