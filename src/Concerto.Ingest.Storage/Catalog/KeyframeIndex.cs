using Concerto.Ingest.Core.Pipeline;
using Npgsql;
using NpgsqlTypes;

namespace Concerto.Ingest.Storage.Catalog;

public readonly record struct FrameScoreRow(int FrameIndex, double Time, float Sharpness);

public sealed record KeyframeRow(int FrameIndex, double Time, float Sharpness, int Width, int Height, string ArtifactKey);

/// <summary>The decode stage's rows: every analysed frame's sharpness and the chosen keyframes. Written with binary
/// COPY inside the stage's commit, after deleting the run's previous rows: a re-run replaces, never duplicates.</summary>
public sealed class KeyframeIndex(NpgsqlDataSource db)
{
    /// <summary>Replaces a run's frames and keyframes and marks its decode stage succeeded, atomically.
    /// Returns the previous output folder (to delete once this returns), or null.</summary>
    public async Task<string?> CommitDecodeAsync(long runId, string jobId, string artifactKey, string metricsJson,
        IReadOnlyList<FrameScoreRow> frames, IReadOnlyList<KeyframeRow> keyframes, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(frames);
        ArgumentNullException.ThrowIfNull(keyframes);
        await using var connection = await db.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var tx = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
        var previous = await StageLedger.LockHeldAsync(connection, tx, runId, Stage.Decode, jobId, cancellationToken).ConfigureAwait(false);

        await Sql.ExecuteAsync(connection, tx, "DELETE FROM keyframes WHERE run_id = $1", cancellationToken, runId).ConfigureAwait(false);
        await Sql.ExecuteAsync(connection, tx, "DELETE FROM frame_scores WHERE run_id = $1", cancellationToken, runId).ConfigureAwait(false);

        await using (var copy = await connection.BeginBinaryImportAsync(
                         "COPY frame_scores (run_id, frame_index, time_s, sharpness) FROM STDIN (FORMAT BINARY)", cancellationToken)
                         .ConfigureAwait(false))
        {
            foreach (var f in frames)
            {
                await copy.StartRowAsync(cancellationToken).ConfigureAwait(false);
                await copy.WriteAsync(runId, NpgsqlDbType.Bigint, cancellationToken).ConfigureAwait(false);
                await copy.WriteAsync(f.FrameIndex, NpgsqlDbType.Integer, cancellationToken).ConfigureAwait(false);
                await copy.WriteAsync(f.Time, NpgsqlDbType.Double, cancellationToken).ConfigureAwait(false);
                await copy.WriteAsync(f.Sharpness, NpgsqlDbType.Real, cancellationToken).ConfigureAwait(false);
            }

            await copy.CompleteAsync(cancellationToken).ConfigureAwait(false);
        }

        await using (var copy = await connection.BeginBinaryImportAsync(
                         "COPY keyframes (run_id, frame_index, time_s, sharpness, width, height, artifact_key) FROM STDIN (FORMAT BINARY)",
                         cancellationToken).ConfigureAwait(false))
        {
            foreach (var k in keyframes)
            {
                await copy.StartRowAsync(cancellationToken).ConfigureAwait(false);
                await copy.WriteAsync(runId, NpgsqlDbType.Bigint, cancellationToken).ConfigureAwait(false);
                await copy.WriteAsync(k.FrameIndex, NpgsqlDbType.Integer, cancellationToken).ConfigureAwait(false);
                await copy.WriteAsync(k.Time, NpgsqlDbType.Double, cancellationToken).ConfigureAwait(false);
                await copy.WriteAsync(k.Sharpness, NpgsqlDbType.Real, cancellationToken).ConfigureAwait(false);
                await copy.WriteAsync(k.Width, NpgsqlDbType.Integer, cancellationToken).ConfigureAwait(false);
                await copy.WriteAsync(k.Height, NpgsqlDbType.Integer, cancellationToken).ConfigureAwait(false);
                await copy.WriteAsync(k.ArtifactKey, NpgsqlDbType.Text, cancellationToken).ConfigureAwait(false);
            }

            await copy.CompleteAsync(cancellationToken).ConfigureAwait(false);
        }

        await StageLedger.MarkSucceededAsync(connection, tx, runId, Stage.Decode, artifactKey, metricsJson, cancellationToken).ConfigureAwait(false);
        // Not cancellable: once the rows are written, a cancelled COMMIT would leave us unsure whether it happened.
        await tx.CommitAsync(CancellationToken.None).ConfigureAwait(false);
        return previous == artifactKey ? null : previous; // never hand back the folder just committed
    }

    public async Task<IReadOnlyList<KeyframeRow>> ListKeyframesAsync(long runId, CancellationToken cancellationToken) =>
        await Sql.ListAsync(db, """
            SELECT frame_index, time_s, sharpness, width, height, artifact_key FROM keyframes WHERE run_id = $1 ORDER BY frame_index
            """, r => new KeyframeRow(r.GetInt32(0), r.GetDouble(1), r.GetFloat(2), r.GetInt32(3), r.GetInt32(4), r.GetString(5)),
            cancellationToken, runId).ConfigureAwait(false);
}
