using System.Security.Cryptography;
using Concerto.Ingest.Core.Media;
using Concerto.Ingest.Core.Pipeline;
using Concerto.Ingest.Core.Profiles;
using Concerto.Ingest.Storage.Catalog;
using Npgsql;

namespace Concerto.Ingest.Storage.Tests.Catalog;

/// <summary>A probed source with its run: what the decode stage starts from.</summary>
internal sealed record SeededRun(string ProfileHash, long BatchId, long SourceId, long VideoId, long RunId);

/// <summary>One row of run_stages, read straight from the table.</summary>
internal sealed record StageRow(string State, string? OwnerJob, long? BatchId, int Executions, string? Worker, string? Error,
    string? ArtifactKey, bool Finished);

/// <summary>Sets up catalogue rows through <see cref="IngestCatalog"/>, as the probe stage would.</summary>
internal static class CatalogSeed
{
    private static readonly CancellationToken None = CancellationToken.None;

    public static ProfileDocument DefaultProfile { get; } = ProfileDocument.Parse(
        File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "pipelines", "video-default.json")), "video-default.json");

    public static VideoInfo SampleVideo { get; } = new("mov,mp4,m4a,3gp,3g2,mj2", "h264", 640, 360, 0, 30.0, 4.0, 120, false);

    /// <summary>A new batch of one source, probed as a new video (random content hash), so each call has its own run.</summary>
    public static async Task<SeededRun> ProbedRunAsync(NpgsqlDataSource db, bool force = false)
    {
        var catalog = new IngestCatalog(db);
        await catalog.EnsureProfileAsync(DefaultProfile, None);
        var path = $"/videos/{Guid.NewGuid():N}.mp4";
        var (batchId, sourceIds) = await catalog.CreateBatchAsync(DefaultProfile.Hash, force, [path], None);
        var runId = await catalog.CompleteProbeAsync(sourceIds[0], DefaultProfile.Hash, RandomNumberGenerator.GetBytes(32), 123_456, path,
            SampleVideo, "probe-worker", None);
        var source = await catalog.GetSourceAsync(sourceIds[0], None);
        return new SeededRun(DefaultProfile.Hash, batchId, sourceIds[0], source.VideoId!.Value, runId);
    }

    /// <summary>Another batch with the same profile (a later ingest command naming the same video).</summary>
    public static async Task<long> NewBatchAsync(NpgsqlDataSource db, bool force)
    {
        var (batchId, _) = await new IngestCatalog(db).CreateBatchAsync(DefaultProfile.Hash, force, ["/videos/again.mp4"], None);
        return batchId;
    }

    public static async Task<StageRow> ReadStageAsync(NpgsqlDataSource db, long runId, string stage = Stage.Decode)
    {
        await using var command = db.CreateCommand("""
            SELECT state, owner_job, batch_id, executions, worker, error, artifact_key, finished_at IS NOT NULL
            FROM run_stages WHERE run_id = $1 AND stage = $2
            """);
        command.Parameters.Add(new NpgsqlParameter { Value = runId });
        command.Parameters.Add(new NpgsqlParameter { Value = stage });
        await using var reader = await command.ExecuteReaderAsync(None);
        Assert.True(await reader.ReadAsync(None), $"run {runId} has no {stage} stage row");
        return new StageRow(reader.GetString(0), Nullable<string>(reader, 1), reader.IsDBNull(2) ? null : reader.GetInt64(2),
            reader.GetInt32(3), Nullable<string>(reader, 4), Nullable<string>(reader, 5), Nullable<string>(reader, 6), reader.GetBoolean(7));
    }

    private static T? Nullable<T>(NpgsqlDataReader reader, int ordinal) where T : class =>
        reader.IsDBNull(ordinal) ? null : reader.GetFieldValue<T>(ordinal);
}
