using System.Globalization;
using System.Security.Cryptography;
using Concerto.Ingest.Core.Media;
using Concerto.Ingest.Core.Profiles;
using Concerto.Ingest.Storage.Catalog;
using Npgsql;

namespace Concerto.Ingest.TestSupport;

/// <summary>Catalogue rows without running the pipeline, written by the catalogue code the stages use: a probed run of a
/// video recorded under a given path and its indexed segments (rows only, no artifact files); and a fingerprint of every
/// table, to show that a request changed nothing.</summary>
public static class CatalogRows
{
    private static readonly VideoInfo Video = new("mov,mp4,m4a,3gp,3g2,mj2", "h264", 640, 360, 0, 30.0, 4.0, 120, false);

    /// <summary>A run of a new video (random content hash) first ingested from <paramref name="videoPath"/>, with
    /// <paramref name="segments"/> live, labelled segments of 1000 + ordinal points each. Returns the run id.</summary>
    public static async Task<long> SegmentedRunAsync(NpgsqlDataSource db, ProfileDocument profile, string videoPath, int segments)
    {
        ArgumentNullException.ThrowIfNull(profile);
        var catalog = new IngestCatalog(db);
        await catalog.EnsureProfileAsync(profile, CancellationToken.None).ConfigureAwait(false);
        var (_, sources) = await catalog.CreateBatchAsync(profile.Hash, false, [videoPath], CancellationToken.None).ConfigureAwait(false);
        var sha = RandomNumberGenerator.GetBytes(32);
        var runId = await catalog.CompleteProbeAsync(sources[0], profile.Hash, sha, 1000, videoPath, Video, "test", CancellationToken.None)
            .ConfigureAwait(false);
        var stageKey = $"runs/{runId.ToString(CultureInfo.InvariantCulture)}/segment/test";
        var camera = new double[] { 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1 };
        var rows = Enumerable.Range(0, segments).Select(i => new SegmentRow(
            $"{Convert.ToHexStringLower(sha)[..12]}-{profile.Hash[..8]}-{i.ToString("D4", CultureInfo.InvariantCulture)}", i,
            $"{stageKey}/s{i.ToString(CultureInfo.InvariantCulture)}", 1000 + i, 4000, 0.5, 0.2, 0.1, 0.6, 0.4, 0.7, true,
            [new SegmentImageRow(0, i, i / 30.0, camera, 300, 300, 320, 180, 640, 360, "color/0.jpg", 1000, 0.6, 0.7)])).ToList();
        await using var connection = await db.OpenConnectionAsync().ConfigureAwait(false);
        await SegmentIndex.CopyAsync(connection, null, runId, stageKey, rows, CancellationToken.None).ConfigureAwait(false);
        return runId;
    }

    /// <summary>Every table of the public schema (the catalogue) with its row count and an MD5 of its rows in a fixed
    /// order: equal fingerprints mean no table was dropped, created, emptied or changed.</summary>
    public static async Task<IReadOnlyDictionary<string, string>> FingerprintAsync(NpgsqlDataSource db)
    {
        ArgumentNullException.ThrowIfNull(db);
        var tables = new List<string>();
        await using (var list = db.CreateCommand(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' AND table_type = 'BASE TABLE' ORDER BY table_name"))
        await using (var reader = await list.ExecuteReaderAsync().ConfigureAwait(false))
        {
            while (await reader.ReadAsync().ConfigureAwait(false)) tables.Add(reader.GetString(0));
        }

        var fingerprint = new SortedDictionary<string, string>(StringComparer.Ordinal);
        foreach (var table in tables)
        {
            // The name comes from the catalogue itself, quoted as an identifier.
            var quoted = "\"" + table.Replace("\"", "\"\"", StringComparison.Ordinal) + "\"";
            await using var command = db.CreateCommand(
                $"SELECT count(*) || ':' || coalesce(md5(string_agg(t::text, E'\\n' ORDER BY t::text)), '') FROM {quoted} t");
            fingerprint[table] = (string)(await command.ExecuteScalarAsync().ConfigureAwait(false))!;
        }

        return fingerprint;
    }
}
