using Npgsql;

namespace Concerto.Ingest.Storage.Catalog;

/// <summary>One indexed segment as the dashboard shows it (<see cref="Retired"/>: replaced by a later run of its stage,
/// still kept for the dataset versions that list it).</summary>
public sealed record SegmentSummary(long Id, string SegmentKey, long RunId, int Ordinal, string ArtifactKey, int Points, long Correspondences,
    double MeanCoverage, double MinCovisibility, bool Labelled, bool Retired, IReadOnlyList<SegmentImageRow> Images);

/// <summary>Read-only views of the segment index, for the server.</summary>
public sealed class SegmentQueries(NpgsqlDataSource db)
{
    /// <summary>A run's live segments, in order.</summary>
    public Task<List<SegmentSummary>> ForRunAsync(long runId, CancellationToken cancellationToken) =>
        ListAsync("s.run_id = $1 AND s.retired_at IS NULL", runId, cancellationToken);

    /// <summary>One segment by id (live or retired), or null.</summary>
    public async Task<SegmentSummary?> GetAsync(long segmentId, CancellationToken cancellationToken) =>
        (await ListAsync("s.id = $1", segmentId, cancellationToken).ConfigureAwait(false)).SingleOrDefault();

    private async Task<List<SegmentSummary>> ListAsync(string where, long key, CancellationToken cancellationToken)
    {
        var images = (await Sql.ListAsync(db, $"""
            SELECT i.segment_id, i.slot, i.frame_index, i.time_s, i.camera_to_world, i.fx, i.fy, i.cx, i.cy, i.width, i.height, i.image_file,
                   i.correspondences, i.coverage, i.visible_fraction
            FROM segment_images i JOIN segments s ON s.id = i.segment_id WHERE {where} ORDER BY i.segment_id, i.slot
            """, r => (Segment: r.GetInt64(0), Image: new SegmentImageRow(r.GetInt16(1), r.GetInt32(2), r.GetDouble(3), r.GetFieldValue<double[]>(4),
                r.GetDouble(5), r.GetDouble(6), r.GetDouble(7), r.GetDouble(8), r.GetInt32(9), r.GetInt32(10), r.GetString(11), r.GetInt32(12),
                r.GetFloat(13), r.GetFloat(14))), cancellationToken, key).ConfigureAwait(false)).ToLookup(i => i.Segment, i => i.Image);
        return await Sql.ListAsync(db, $"""
            SELECT s.id, s.segment_key, s.run_id, s.ordinal, s.artifact_key, s.points, s.correspondences, s.mean_coverage, s.min_covisibility,
                   s.labelled, s.retired_at IS NOT NULL
            FROM segments s WHERE {where} ORDER BY s.run_id, s.ordinal
            """, r => new SegmentSummary(r.GetInt64(0), r.GetString(1), r.GetInt64(2), r.GetInt32(3), r.GetString(4), r.GetInt32(5), r.GetInt64(6),
                r.GetFloat(7), r.GetFloat(8), r.GetBoolean(9), r.GetBoolean(10), [.. images[r.GetInt64(0)]]), cancellationToken, key).ConfigureAwait(false);
    }
}
