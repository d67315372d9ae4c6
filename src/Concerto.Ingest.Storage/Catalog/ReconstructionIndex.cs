using Concerto.Ingest.Core.Pipeline;
using Npgsql;
using NpgsqlTypes;

namespace Concerto.Ingest.Storage.Catalog;

public sealed record ReconstructionRow(string Method, string? ModelHash, int Points, double Scale, bool FloorFound, string ArtifactKey, string MetricsJson);

public sealed record CameraRow(int FrameIndex, double Time, double[] CameraToWorld, double Fx, double Fy, double Cx, double Cy, int Width, int Height);

/// <summary>The reconstruct stage's rows: the run's scene and its keyframe cameras, replaced atomically with the stage's
/// state (a re-run replaces, never duplicates).</summary>
public sealed class ReconstructionIndex(NpgsqlDataSource db)
{
    /// <summary>Commits the scene (or, with <paramref name="scene"/> null, records that there is none, e.g. no
    /// reconstructor available) and marks the stage succeeded. Returns the previous output folder to delete, or null.</summary>
    public async Task<string?> CommitAsync(long runId, string jobId, ReconstructionRow? scene, IReadOnlyList<CameraRow> cameras,
        string stageMetricsJson, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(cameras);
        await using var connection = await db.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var tx = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
        var previous = await StageLedger.LockHeldAsync(connection, tx, runId, Stage.Reconstruct, jobId, cancellationToken).ConfigureAwait(false);
        await Sql.ExecuteAsync(connection, tx, "DELETE FROM cameras WHERE run_id = $1", cancellationToken, runId).ConfigureAwait(false);
        await Sql.ExecuteAsync(connection, tx, "DELETE FROM reconstructions WHERE run_id = $1", cancellationToken, runId).ConfigureAwait(false);
        if (scene is not null)
        {
            await using (var insert = Sql.Command(connection, tx, """
                INSERT INTO reconstructions (run_id, method, model_hash, points, scale, floor_found, artifact_key, metrics)
                VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
                """, runId, scene.Method, scene.ModelHash, scene.Points, scene.Scale, scene.FloorFound, scene.ArtifactKey, scene.MetricsJson))
            {
                insert.Parameters[7].NpgsqlDbType = NpgsqlDbType.Jsonb;
                await insert.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
            }

            await using var copy = await connection.BeginBinaryImportAsync(
                "COPY cameras (run_id, frame_index, time_s, camera_to_world, fx, fy, cx, cy, width, height) FROM STDIN (FORMAT BINARY)",
                cancellationToken).ConfigureAwait(false);
            foreach (var c in cameras)
            {
                await copy.StartRowAsync(cancellationToken).ConfigureAwait(false);
                await copy.WriteAsync(runId, NpgsqlDbType.Bigint, cancellationToken).ConfigureAwait(false);
                await copy.WriteAsync(c.FrameIndex, NpgsqlDbType.Integer, cancellationToken).ConfigureAwait(false);
                await copy.WriteAsync(c.Time, NpgsqlDbType.Double, cancellationToken).ConfigureAwait(false);
                await copy.WriteAsync(c.CameraToWorld, NpgsqlDbType.Array | NpgsqlDbType.Double, cancellationToken).ConfigureAwait(false);
                foreach (var v in new[] { c.Fx, c.Fy, c.Cx, c.Cy })
                    await copy.WriteAsync(v, NpgsqlDbType.Double, cancellationToken).ConfigureAwait(false);
                await copy.WriteAsync(c.Width, NpgsqlDbType.Integer, cancellationToken).ConfigureAwait(false);
                await copy.WriteAsync(c.Height, NpgsqlDbType.Integer, cancellationToken).ConfigureAwait(false);
            }

            await copy.CompleteAsync(cancellationToken).ConfigureAwait(false);
        }

        await StageLedger.MarkSucceededAsync(connection, tx, runId, Stage.Reconstruct, scene?.ArtifactKey, stageMetricsJson, cancellationToken)
            .ConfigureAwait(false);
        await tx.CommitAsync(CancellationToken.None).ConfigureAwait(false);
        return previous == scene?.ArtifactKey ? null : previous;
    }

    public async Task<(ReconstructionRow Scene, IReadOnlyList<CameraRow> Cameras)?> GetAsync(long runId, CancellationToken cancellationToken)
    {
        var scenes = await Sql.ListAsync(db, """
            SELECT method, model_hash, points, scale, floor_found, artifact_key, metrics::text FROM reconstructions WHERE run_id = $1
            """, r => new ReconstructionRow(r.GetString(0), r.Get<string>("model_hash"), r.GetInt32(2), r.GetDouble(3), r.GetBoolean(4),
                r.GetString(5), r.GetString(6)), cancellationToken, runId).ConfigureAwait(false);
        if (scenes.Count == 0) return null;
        var cameras = await Sql.ListAsync(db, """
            SELECT frame_index, time_s, camera_to_world, fx, fy, cx, cy, width, height FROM cameras WHERE run_id = $1 ORDER BY frame_index
            """, r => new CameraRow(r.GetInt32(0), r.GetDouble(1), r.GetFieldValue<double[]>(2), r.GetDouble(3), r.GetDouble(4), r.GetDouble(5),
                r.GetDouble(6), r.GetInt32(7), r.GetInt32(8)), cancellationToken, runId).ConfigureAwait(false);
        return (scenes[0], cameras);
    }
}
