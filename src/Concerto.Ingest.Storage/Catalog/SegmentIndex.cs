using Concerto.Ingest.Core.Pipeline;
using Npgsql;
using NpgsqlTypes;

namespace Concerto.Ingest.Storage.Catalog;

/// <summary>One image of a segment as indexed: camera in the scene frame (intrinsics in the image's pixels) and its
/// correspondence summary.</summary>
public sealed record SegmentImageRow(int Slot, int FrameIndex, double Time, double[] CameraToWorld, double Fx, double Fy, double Cx, double Cy,
    int Width, int Height, string ImageFile, int Correspondences, double Coverage, double VisibleFraction);

/// <summary>One segment as indexed (<see cref="ArtifactKey"/>: its folder in the artifact store).</summary>
public sealed record SegmentRow(string SegmentKey, int Ordinal, string ArtifactKey, int Points, long Correspondences, double MinCovisibility,
    double MinBaseline, double MaxOverlap, double MeanCoverage, double MinCoverage, double MeanVisibleFraction, bool Labelled,
    IReadOnlyList<SegmentImageRow> Images);

/// <summary>The segment stage's rows, written with binary COPY. A commit retires the run's previous segments instead of
/// deleting them, so dataset versions that list them stay intact.</summary>
public sealed class SegmentIndex(NpgsqlDataSource db)
{
    /// <summary>Retires the run's live segments, adds <paramref name="segments"/> (published under
    /// <paramref name="stageKey"/>) and marks the stage succeeded, in one transaction. Returns the previous stage folder
    /// when it may be deleted: it is kept while a dataset version lists one of its segments.</summary>
    public async Task<string?> CommitAsync(long runId, string jobId, string? stageKey, IReadOnlyList<SegmentRow> segments, string stageMetricsJson,
        CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(segments);
        await using var connection = await db.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var tx = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
        var previous = await StageLedger.LockHeldAsync(connection, tx, runId, Stage.Segment, jobId, cancellationToken).ConfigureAwait(false);
        await Sql.ExecuteAsync(connection, tx, "UPDATE segments SET retired_at = now() WHERE run_id = $1 AND retired_at IS NULL", cancellationToken, runId)
            .ConfigureAwait(false);
        if (stageKey is not null) await CopyAsync(connection, tx, runId, stageKey, segments, cancellationToken).ConfigureAwait(false);
        await StageLedger.MarkSucceededAsync(connection, tx, runId, Stage.Segment, stageKey, stageMetricsJson, cancellationToken).ConfigureAwait(false);
        var referenced = previous is not null && await Sql.ScalarAsync<bool>(connection, tx, """
            SELECT EXISTS (SELECT 1 FROM segments s JOIN dataset_members m ON m.segment_id = s.id WHERE s.stage_key = $1)
            """, cancellationToken, previous).ConfigureAwait(false);
        await tx.CommitAsync(CancellationToken.None).ConfigureAwait(false);
        return previous == stageKey || referenced ? null : previous;
    }

    /// <summary>The columns <see cref="CopyAsync"/> writes to <c>segments</c>, in the order it writes them.</summary>
    public const string SegmentColumns = "id, segment_key, run_id, ordinal, stage_key, artifact_key, points, images, correspondences, " +
                                         "min_covisibility, min_baseline, max_overlap, mean_coverage, min_coverage, mean_visible_fraction, labelled";

    /// <summary>The columns <see cref="CopyAsync"/> writes to <c>segment_images</c>, in the order it writes them.</summary>
    public const string ImageColumns = "segment_id, slot, frame_index, time_s, camera_to_world, fx, fy, cx, cy, width, height, image_file, " +
                                       "correspondences, coverage, visible_fraction";

    /// <summary>Binary COPY of segment rows and their image rows. Ids are reserved from the identity sequence first, so
    /// both tables stream in one pass each.</summary>
    public static async Task CopyAsync(NpgsqlConnection connection, NpgsqlTransaction? tx, long runId, string stageKey,
        IReadOnlyList<SegmentRow> segments, CancellationToken cancellationToken)
    {
        if (segments.Count == 0) return;
        var ids = new List<long>(segments.Count);
        await using (var reserve = Sql.Command(connection, tx,
            "SELECT nextval(pg_get_serial_sequence('segments', 'id')) FROM generate_series(1, $1)", segments.Count))
        await using (var reader = await reserve.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false))
        {
            while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false)) ids.Add(reader.GetInt64(0));
        }

        await using (var copy = await connection.BeginBinaryImportAsync($"COPY segments ({SegmentColumns}) FROM STDIN (FORMAT BINARY)", cancellationToken)
                         .ConfigureAwait(false))
        {
            for (var i = 0; i < segments.Count; i++)
            {
                var s = segments[i];
                await copy.StartRowAsync(cancellationToken).ConfigureAwait(false);
                await copy.WriteAsync(ids[i], NpgsqlDbType.Bigint, cancellationToken).ConfigureAwait(false);
                await copy.WriteAsync(s.SegmentKey, NpgsqlDbType.Text, cancellationToken).ConfigureAwait(false);
                await copy.WriteAsync(runId, NpgsqlDbType.Bigint, cancellationToken).ConfigureAwait(false);
                await copy.WriteAsync(s.Ordinal, NpgsqlDbType.Integer, cancellationToken).ConfigureAwait(false);
                await copy.WriteAsync(stageKey, NpgsqlDbType.Text, cancellationToken).ConfigureAwait(false);
                await copy.WriteAsync(s.ArtifactKey, NpgsqlDbType.Text, cancellationToken).ConfigureAwait(false);
                await copy.WriteAsync(s.Points, NpgsqlDbType.Integer, cancellationToken).ConfigureAwait(false);
                await copy.WriteAsync(s.Images.Count, NpgsqlDbType.Integer, cancellationToken).ConfigureAwait(false);
                await copy.WriteAsync(s.Correspondences, NpgsqlDbType.Bigint, cancellationToken).ConfigureAwait(false);
                foreach (var v in new[] { s.MinCovisibility, s.MinBaseline, s.MaxOverlap, s.MeanCoverage, s.MinCoverage, s.MeanVisibleFraction })
                    await copy.WriteAsync((float)v, NpgsqlDbType.Real, cancellationToken).ConfigureAwait(false);
                await copy.WriteAsync(s.Labelled, NpgsqlDbType.Boolean, cancellationToken).ConfigureAwait(false);
            }

            await copy.CompleteAsync(cancellationToken).ConfigureAwait(false);
        }

        await using var images = await connection.BeginBinaryImportAsync($"COPY segment_images ({ImageColumns}) FROM STDIN (FORMAT BINARY)", cancellationToken)
            .ConfigureAwait(false);
        for (var i = 0; i < segments.Count; i++)
        {
            foreach (var m in segments[i].Images)
            {
                await images.StartRowAsync(cancellationToken).ConfigureAwait(false);
                await images.WriteAsync(ids[i], NpgsqlDbType.Bigint, cancellationToken).ConfigureAwait(false);
                await images.WriteAsync((short)m.Slot, NpgsqlDbType.Smallint, cancellationToken).ConfigureAwait(false);
                await images.WriteAsync(m.FrameIndex, NpgsqlDbType.Integer, cancellationToken).ConfigureAwait(false);
                await images.WriteAsync(m.Time, NpgsqlDbType.Double, cancellationToken).ConfigureAwait(false);
                await images.WriteAsync(m.CameraToWorld, NpgsqlDbType.Array | NpgsqlDbType.Double, cancellationToken).ConfigureAwait(false);
                foreach (var v in new[] { m.Fx, m.Fy, m.Cx, m.Cy })
                    await images.WriteAsync(v, NpgsqlDbType.Double, cancellationToken).ConfigureAwait(false);
                await images.WriteAsync(m.Width, NpgsqlDbType.Integer, cancellationToken).ConfigureAwait(false);
                await images.WriteAsync(m.Height, NpgsqlDbType.Integer, cancellationToken).ConfigureAwait(false);
                await images.WriteAsync(m.ImageFile, NpgsqlDbType.Text, cancellationToken).ConfigureAwait(false);
                await images.WriteAsync(m.Correspondences, NpgsqlDbType.Integer, cancellationToken).ConfigureAwait(false);
                await images.WriteAsync((float)m.Coverage, NpgsqlDbType.Real, cancellationToken).ConfigureAwait(false);
                await images.WriteAsync((float)m.VisibleFraction, NpgsqlDbType.Real, cancellationToken).ConfigureAwait(false);
            }
        }

        await images.CompleteAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Live segment count of a run.</summary>
    public async Task<int> CountAsync(long runId, CancellationToken cancellationToken) =>
        (await Sql.ListAsync(db, "SELECT count(*)::int FROM segments WHERE run_id = $1 AND retired_at IS NULL", r => r.GetInt32(0),
            cancellationToken, runId).ConfigureAwait(false))[0];
}
