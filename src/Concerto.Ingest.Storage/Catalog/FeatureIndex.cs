using Concerto.Ingest.Core.Pipeline;
using Concerto.Ingest.Core.Profiles;
using Npgsql;
using NpgsqlTypes;

namespace Concerto.Ingest.Storage.Catalog;

/// <summary>A teacher: model weights plus the preprocessing that shapes its features, laid out on <paramref name="Grid"/>.</summary>
public sealed record TeacherRow(string Identity, string ModelHash, string ModelFile, int Width, TeacherGrid Grid, string PreprocessingJson)
{
    public int Tokens => Grid.Tokens;
}

/// <summary>A segment image of a run that has no features from a given teacher yet.</summary>
public sealed record PendingImage(long SegmentId, int Ordinal, int Slot, string SegmentArtifactKey, string ImageFile);

public sealed record FeatureRow(long SegmentId, int Slot, string ArtifactKey);

/// <summary>The featurize stage's rows. Features are keyed by (segment, image, teacher) and never replaced: the same
/// teacher gives the same numbers, so a re-run computes only what is missing and earlier files stay valid.</summary>
public sealed class FeatureIndex(NpgsqlDataSource db)
{
    /// <summary>The run's live segment images without features from <paramref name="teacher"/>, in segment then slot order.</summary>
    public Task<List<PendingImage>> PendingAsync(long runId, string teacher, CancellationToken cancellationToken) =>
        Sql.ListAsync(db, """
            SELECT s.id, s.ordinal, i.slot, s.artifact_key, i.image_file
            FROM segments s JOIN segment_images i ON i.segment_id = s.id
            WHERE s.run_id = $1 AND s.retired_at IS NULL
              AND NOT EXISTS (SELECT 1 FROM segment_features f WHERE f.segment_id = s.id AND f.slot = i.slot AND f.teacher = $2)
            ORDER BY s.ordinal, i.slot
            """, r => new PendingImage(r.GetInt64(0), r.GetInt32(1), r.GetInt16(2), r.GetString(3), r.GetString(4)), cancellationToken, runId, teacher);

    /// <summary>Records the teacher (once) and the new feature rows, and marks the stage succeeded, in one transaction.</summary>
    public async Task CommitAsync(long runId, string jobId, TeacherRow? teacher, IReadOnlyList<FeatureRow> features, string? stageKey,
        string stageMetricsJson, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(features);
        await using var connection = await db.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var tx = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
        await StageLedger.LockHeldAsync(connection, tx, runId, Stage.Featurize, jobId, cancellationToken).ConfigureAwait(false);
        if (teacher is not null)
        {
            await using var insert = Sql.Command(connection, tx, """
                INSERT INTO teachers (identity, model_hash, model_file, width, tokens, preprocessing, grid_rows, grid_columns, patch_size)
                VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
                ON CONFLICT (identity) DO NOTHING
                """, teacher.Identity, teacher.ModelHash, teacher.ModelFile, teacher.Width, teacher.Tokens, teacher.PreprocessingJson,
                teacher.Grid.Rows, teacher.Grid.Columns, teacher.Grid.PatchSize);
            insert.Parameters[5].NpgsqlDbType = NpgsqlDbType.Jsonb;
            await insert.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }

        if (features.Count > 0)
        {
            ArgumentNullException.ThrowIfNull(teacher);
            await using var copy = await connection.BeginBinaryImportAsync(
                "COPY segment_features (segment_id, slot, teacher, artifact_key, run_id) FROM STDIN (FORMAT BINARY)", cancellationToken).ConfigureAwait(false);
            foreach (var f in features)
            {
                await copy.StartRowAsync(cancellationToken).ConfigureAwait(false);
                await copy.WriteAsync(f.SegmentId, NpgsqlDbType.Bigint, cancellationToken).ConfigureAwait(false);
                await copy.WriteAsync((short)f.Slot, NpgsqlDbType.Smallint, cancellationToken).ConfigureAwait(false);
                await copy.WriteAsync(teacher.Identity, NpgsqlDbType.Text, cancellationToken).ConfigureAwait(false);
                await copy.WriteAsync(f.ArtifactKey, NpgsqlDbType.Text, cancellationToken).ConfigureAwait(false);
                await copy.WriteAsync(runId, NpgsqlDbType.Bigint, cancellationToken).ConfigureAwait(false);
            }

            await copy.CompleteAsync(cancellationToken).ConfigureAwait(false);
        }

        await StageLedger.MarkSucceededAsync(connection, tx, runId, Stage.Featurize, stageKey, stageMetricsJson, cancellationToken).ConfigureAwait(false);
        await tx.CommitAsync(CancellationToken.None).ConfigureAwait(false);
    }
}
