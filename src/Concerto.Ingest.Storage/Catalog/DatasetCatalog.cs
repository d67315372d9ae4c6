using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Concerto.Ingest.Core.Datasets;
using Concerto.Ingest.Core.Datasets.Filter;
using Concerto.Ingest.Core.Profiles;
using Npgsql;
using NpgsqlTypes;

namespace Concerto.Ingest.Storage.Catalog;

/// <summary>A dataset version as stored: immutable once created.</summary>
/// <param name="Hash">SHA-256 over the members' (segment key, split) pairs in key order: two versions with the same hash
/// hold the same segments in the same splits.</param>
/// <param name="Teacher">Identity of the image teacher whose features the version lists (null: none).</param>
public sealed record DatasetVersion(long Id, string Name, int Version, string? Filter, IReadOnlyList<DatasetSplit> Splits, int Seed, int Segments,
    IReadOnlyDictionary<string, int> Counts, string Hash, string? Teacher, DateTime CreatedAt)
{
    public string Label => $"{Name}@{Version}";
}

/// <summary>One segment of a dataset version with what a manifest needs; <see cref="FeatureKeys"/>[i] is image i's
/// feature file from the version's teacher (null when it has none).</summary>
public sealed record DatasetMember(long SegmentId, string SegmentKey, string Split, long RunId, string VideoSha256, string SourcePath,
    string ArtifactKey, int Points, long Correspondences, double MinCovisibility, double MinBaseline, double MaxOverlap, double MeanCoverage,
    double MinCoverage, double MeanVisibleFraction, bool Labelled, IReadOnlyList<SegmentImageRow> Images, IReadOnlyList<string?> FeatureKeys);

/// <summary>Dataset versions: a filter over live segments, a deterministic split, and the members, all written in one
/// transaction. Members reference segment rows, which are never changed or deleted, so a version lists the same data
/// forever, whatever ingestion does later.</summary>
public sealed class DatasetCatalog(NpgsqlDataSource db)
{
    /// <summary>What a filter may reference. SQL refers to segments s, runs r, videos v, profiles p, reconstructions rc.</summary>
    public static FilterSchema Schema { get; } = new([
        new("points", "s.points", FilterType.Number, "points in the segment cloud"),
        new("images", "s.images", FilterType.Number, "images in the segment (4 unless the scene had fewer keyframes)"),
        new("correspondences", "s.correspondences", FilterType.Number, "pixel-point correspondences over all images"),
        new("covisibility", "s.min_covisibility", FilterType.Number, "smallest share of points any two of its views both see"),
        new("baseline", "s.min_baseline", FilterType.Number, "smallest distance between two of its cameras (scene units)"),
        new("overlap", "s.max_overlap", FilterType.Number, "largest share of its points repeated from an earlier segment of the scene"),
        new("coverage", "s.mean_coverage", FilterType.Number, "share of 14 px patches holding a correspondence, mean over images"),
        new("coverage_min", "s.min_coverage", FilterType.Number, "the same, the least covered image"),
        new("visible_fraction", "s.mean_visible_fraction", FilterType.Number, "share of the segment's points an image sees, mean over images"),
        new("labelled", "s.labelled", FilterType.Bool, "has semantic and instance labels"),
        new("featurized", "EXISTS (SELECT 1 FROM segment_features f WHERE f.segment_id = s.id)", FilterType.Bool,
            "has image-teacher features (from any teacher)"),
        new("created", "s.created_at", FilterType.Timestamp, "when the segment was made"),
        new("run", "s.run_id", FilterType.Number, "run id (concerto status)"),
        new("scene.method", "rc.method", FilterType.Text, "reconstructor: posed or vggt"),
        new("scene.points", "rc.points", FilterType.Number, "points in the whole scene cloud"),
        new("scene.floor_found", "rc.floor_found", FilterType.Bool, "the scene was levelled on a detected floor"),
        new("profile.name", "p.name", FilterType.Text, "pipeline profile name"),
        new("source.path", "v.path", FilterType.Text, "video path where it was first ingested"),
        new("source.sha256", "encode(v.sha256, 'hex')", FilterType.Text, "video content hash (hex)"),
        new("source.container", "v.container", FilterType.Text, "container format"),
        new("source.codec", "v.codec", FilterType.Text, "video codec"),
        new("source.width", "v.width", FilterType.Number, "displayed width (px)"),
        new("source.height", "v.height", FilterType.Number, "displayed height (px)"),
        new("source.fps", "v.frame_rate", FilterType.Number, "frame rate"),
        new("source.duration", "v.duration_s", FilterType.Number, "duration (s)"),
        new("source.has_audio", "v.has_audio", FilterType.Bool, "has an audio stream"),
        new("source.ingested", "v.created_at", FilterType.Timestamp, "when the video was first ingested"),
    ]);

    private const string SegmentSources = """
        segments s JOIN runs r ON r.id = s.run_id JOIN videos v ON v.id = r.video_id JOIN profiles p ON p.hash = r.profile_hash
        LEFT JOIN reconstructions rc ON rc.run_id = s.run_id
        """;

    /// <summary>Parses and checks a filter; throws <see cref="FilterException"/> with a caret under the offending text.</summary>
    public static FilterExpression? ParseFilter(string? text) => string.IsNullOrWhiteSpace(text) ? null : FilterExpression.Parse(text, Schema);

    /// <summary>Creates the next version of <paramref name="name"/> from the live segments the filter selects. Its
    /// teacher is <paramref name="teacher"/> (an identity or a unique prefix; "none" for no features) or, when null, the
    /// teacher with features for the most members.</summary>
    /// <exception cref="FilterException">The filter does not parse; nothing is created.</exception>
    /// <exception cref="InvalidOperationException">No segment matches, or the teacher is unknown; nothing is created.</exception>
    public async Task<DatasetVersion> CreateAsync(string name, string? filterText, IReadOnlyList<DatasetSplit> splits, int seed,
        CancellationToken cancellationToken, string? teacher = null)
    {
        ValidateName(name);
        ArgumentNullException.ThrowIfNull(splits);
        var filter = ParseFilter(filterText);
        var where = filter?.ToSql(firstParameterIndex: 1) ?? new FilterSql("true", []);

        await using var connection = await db.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var tx = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
        // One creator per name at a time, so versions number 1, 2, 3 without gaps or collisions.
        await Sql.ExecuteAsync(connection, tx, "SELECT pg_advisory_xact_lock(hashtextextended('dataset:' || $1, 0))", cancellationToken, name)
            .ConfigureAwait(false);
        var version = await Sql.ScalarAsync<int>(connection, tx, "SELECT coalesce(max(version), 0) + 1 FROM dataset_versions WHERE name = $1",
            cancellationToken, name).ConfigureAwait(false);

        // FOR SHARE: a segment stage re-run that retires these rows waits for this commit, then sees them referenced
        // and keeps their files.
        var members = new List<(long Id, string Key, string Split)>();
        await using (var select = Sql.Command(connection, tx,
            $"SELECT s.id, s.segment_key FROM {SegmentSources} WHERE s.retired_at IS NULL AND ({where.Where}) ORDER BY s.segment_key FOR SHARE OF s",
            [.. where.Parameters]))
        await using (var reader = await select.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false))
        {
            while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
                members.Add((reader.GetInt64(0), reader.GetString(1), DatasetSplits.Assign(reader.GetString(1), seed, splits)));
        }

        if (members.Count == 0)
            throw new InvalidOperationException($"no segment matches {(filter is null ? "(no filter)" : $"the filter '{filter}'")}; nothing was created. `concerto status` shows what has been ingested.");

        var chosenTeacher = await ChooseTeacherAsync(connection, tx, teacher, members.Select(m => m.Id).ToArray(), cancellationToken).ConfigureAwait(false);
        var counts = splits.ToDictionary(s => s.Name, s => members.Count(m => m.Split == s.Name));
        var hash = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(string.Concat(members.Select(m => $"{m.Key}\t{m.Split}\n")))));
        long id;
        await using (var insert = Sql.Command(connection, tx, """
            INSERT INTO dataset_versions (name, version, filter, splits, seed, segments, counts, hash, teacher)
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id
            """, name, version, filter?.ToString(), JsonSerializer.Serialize(splits), seed, members.Count, JsonSerializer.Serialize(counts), hash,
            chosenTeacher))
        {
            insert.Parameters[3].NpgsqlDbType = NpgsqlDbType.Jsonb;
            insert.Parameters[6].NpgsqlDbType = NpgsqlDbType.Jsonb;
            id = (long)(await insert.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false))!;
        }

        await using (var copy = await connection.BeginBinaryImportAsync(
            "COPY dataset_members (dataset_version_id, segment_id, split) FROM STDIN (FORMAT BINARY)", cancellationToken).ConfigureAwait(false))
        {
            foreach (var (segmentId, _, split) in members)
            {
                await copy.StartRowAsync(cancellationToken).ConfigureAwait(false);
                await copy.WriteAsync(id, NpgsqlDbType.Bigint, cancellationToken).ConfigureAwait(false);
                await copy.WriteAsync(segmentId, NpgsqlDbType.Bigint, cancellationToken).ConfigureAwait(false);
                await copy.WriteAsync(split, NpgsqlDbType.Text, cancellationToken).ConfigureAwait(false);
            }

            await copy.CompleteAsync(cancellationToken).ConfigureAwait(false);
        }

        await tx.CommitAsync(CancellationToken.None).ConfigureAwait(false);
        return await GetAsync(name, version, cancellationToken).ConfigureAwait(false);
    }

    private static async Task<string?> ChooseTeacherAsync(NpgsqlConnection connection, NpgsqlTransaction tx, string? requested, long[] segments,
        CancellationToken cancellationToken)
    {
        if (string.Equals(requested, "none", StringComparison.OrdinalIgnoreCase)) return null;
        if (requested is null)
            return await Sql.ScalarAsync<string>(connection, tx, """
                SELECT teacher FROM segment_features WHERE segment_id = ANY($1) GROUP BY teacher ORDER BY count(*) DESC, teacher LIMIT 1
                """, cancellationToken, segments).ConfigureAwait(false);
        if (requested.Length == 0 || !requested.All(char.IsAsciiHexDigit))
            throw new ArgumentException($"teacher '{requested}' is not a teacher identity (hex) or 'none'");
        var matches = new List<string>();
        await using (var command = Sql.Command(connection, tx, "SELECT identity FROM teachers WHERE identity LIKE $1 || '%' ORDER BY identity LIMIT 2",
            requested.ToLowerInvariant()))
        await using (var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false))
        {
            while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false)) matches.Add(reader.GetString(0));
        }

        return matches.Count == 1 ? matches[0]
            : throw new InvalidOperationException(matches.Count == 0
                ? $"no teacher '{requested}'; teachers are recorded by the featurize stage (identity in `concerto dataset show` or the run's metrics); nothing was created"
                : $"teacher prefix '{requested}' is ambiguous; give more of the identity; nothing was created");
    }

    /// <summary>Every version, by name then version.</summary>
    public Task<List<DatasetVersion>> ListAsync(CancellationToken cancellationToken) =>
        Sql.ListAsync(db, $"{VersionColumns} ORDER BY name, version", ReadVersion, cancellationToken);

    /// <summary>A version of <paramref name="name"/> (the latest when <paramref name="version"/> is null).</summary>
    /// <exception cref="KeyNotFoundException">No such dataset or version; the message says which exist.</exception>
    public async Task<DatasetVersion> GetAsync(string name, int? version, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(name);
        // No version can have such a name; and some such text (NUL) would fail in PostgreSQL rather than not match.
        if (!IsValidName(name)) throw new KeyNotFoundException($"no dataset named '{Printable(name)}': {NameRule}");
        var rows = await Sql.ListAsync(db, $"{VersionColumns} WHERE name = $1 AND ($2::int IS NULL OR version = $2) ORDER BY version DESC LIMIT 1",
            ReadVersion, cancellationToken, name, version).ConfigureAwait(false);
        if (rows.Count == 1) return rows[0];
        var versions = await Sql.ListAsync(db, "SELECT version FROM dataset_versions WHERE name = $1 ORDER BY version", r => r.GetInt32(0),
            cancellationToken, name).ConfigureAwait(false);
        throw new KeyNotFoundException(versions.Count == 0
            ? $"no dataset named '{name}'; `concerto dataset list` shows them, `concerto dataset create {name}` makes one"
            : $"dataset '{name}' has no version {version}; it has {string.Join(", ", versions)}");
    }

    /// <summary>A version's members with their images, ordered by segment key (so exports are byte-identical).</summary>
    public async Task<IReadOnlyList<DatasetMember>> MembersAsync(long versionId, CancellationToken cancellationToken)
    {
        var images = (await Sql.ListAsync(db, """
            SELECT i.segment_id, i.slot, i.frame_index, i.time_s, i.camera_to_world, i.fx, i.fy, i.cx, i.cy, i.width, i.height, i.image_file,
                   i.correspondences, i.coverage, i.visible_fraction, f.artifact_key
            FROM segment_images i JOIN dataset_members m ON m.segment_id = i.segment_id
            JOIN dataset_versions d ON d.id = m.dataset_version_id
            LEFT JOIN segment_features f ON f.segment_id = i.segment_id AND f.slot = i.slot AND f.teacher = d.teacher
            WHERE m.dataset_version_id = $1 ORDER BY i.segment_id, i.slot
            """, r => (Segment: r.GetInt64(0), Image: new SegmentImageRow(r.GetInt16(1), r.GetInt32(2), r.GetDouble(3), r.GetFieldValue<double[]>(4),
                r.GetDouble(5), r.GetDouble(6), r.GetDouble(7), r.GetDouble(8), r.GetInt32(9), r.GetInt32(10), r.GetString(11), r.GetInt32(12),
                r.GetFloat(13), r.GetFloat(14)), Feature: r.Get<string>("artifact_key")), cancellationToken, versionId).ConfigureAwait(false))
            .ToLookup(i => i.Segment);
        return await Sql.ListAsync(db, """
            SELECT s.id, s.segment_key, m.split, s.run_id, encode(v.sha256, 'hex'), v.path, s.artifact_key, s.points, s.correspondences,
                   s.min_covisibility, s.min_baseline, s.max_overlap, s.mean_coverage, s.min_coverage, s.mean_visible_fraction, s.labelled
            FROM dataset_members m JOIN segments s ON s.id = m.segment_id JOIN runs r ON r.id = s.run_id JOIN videos v ON v.id = r.video_id
            WHERE m.dataset_version_id = $1 ORDER BY s.segment_key
            """, r => new DatasetMember(r.GetInt64(0), r.GetString(1), r.GetString(2), r.GetInt64(3), r.GetString(4), r.GetString(5), r.GetString(6),
                r.GetInt32(7), r.GetInt64(8), r.GetFloat(9), r.GetFloat(10), r.GetFloat(11), r.GetFloat(12), r.GetFloat(13), r.GetFloat(14),
                r.GetBoolean(15), [.. images[r.GetInt64(0)].Select(i => i.Image)], [.. images[r.GetInt64(0)].Select(i => i.Feature)]),
            cancellationToken, versionId).ConfigureAwait(false);
    }

    /// <summary>The patch grid of the teacher with <paramref name="identity"/>, or null when no such teacher is recorded.</summary>
    public async Task<TeacherGrid?> TeacherGridAsync(string identity, CancellationToken cancellationToken) =>
        (await Sql.ListAsync(db, "SELECT grid_rows, grid_columns, patch_size FROM teachers WHERE identity = $1",
            r => new TeacherGrid(r.GetInt32(0), r.GetInt32(1), r.GetInt32(2)), cancellationToken, identity).ConfigureAwait(false)).FirstOrDefault();

    private const string VersionColumns =
        "SELECT id, name, version, filter, splits::text, seed, segments, counts::text, hash, teacher, created_at FROM dataset_versions";

    private static DatasetVersion ReadVersion(NpgsqlDataReader r) => new(r.GetInt64(0), r.GetString(1), r.GetInt32(2), r.Get<string>("filter"),
        JsonSerializer.Deserialize<List<DatasetSplit>>(r.GetString(4))!, r.GetInt32(5), r.GetInt32(6),
        JsonSerializer.Deserialize<Dictionary<string, int>>(r.GetString(7))!, r.GetString(8), r.Get<string>("teacher"), r.GetDateTime(10));

    private const string NameRule = "dataset names start with a letter or digit and use only letters, digits, '_', '-', '.' (100 at most)";

    /// <summary>Whether <paramref name="name"/> can name a dataset: ASCII letters, digits, '_', '-' and '.', starting
    /// with a letter or digit, 100 at most. Such a name is also a safe single folder name (no separator, never "." or
    /// "..").</summary>
    public static bool IsValidName(string? name) =>
        !string.IsNullOrEmpty(name) && name.Length <= 100 && char.IsAsciiLetterOrDigit(name[0])
        && name.All(c => char.IsAsciiLetterOrDigit(c) || c is '_' or '-' or '.');

    /// <summary>The folder name a pulled copy of <paramref name="version"/> gets (<c>NAME@VERSION-HASHPREFIX</c>), one
    /// path segment that cannot leave the folder it is put in.</summary>
    /// <exception cref="InvalidOperationException">The row's name or hash is not one <see cref="CreateAsync"/> writes
    /// (a row written some other way).</exception>
    public static string LocalFolderName(DatasetVersion version)
    {
        ArgumentNullException.ThrowIfNull(version);
        if (!IsValidName(version.Name) || version.Hash.Length < 12 || !version.Hash.All(char.IsAsciiHexDigitLower))
            throw new InvalidOperationException(
                $"dataset version {version.Id} has name '{Printable(version.Name)}' and hash '{Printable(version.Hash)}', which cannot name a folder: {NameRule}");
        return $"{version.Name}@{version.Version.ToString(System.Globalization.CultureInfo.InvariantCulture)}-{version.Hash[..12]}";
    }

    private static void ValidateName(string name)
    {
        if (!IsValidName(name)) throw new ArgumentException($"dataset name '{Printable(name)}' is not valid: {NameRule}");
    }

    /// <summary>Text for an error message: control characters as code points, at most 120 characters.</summary>
    private static string Printable(string? text)
    {
        if (text is null) return "";
        var shown = string.Concat(text.Take(120).Select(c => char.IsControl(c) || char.IsSurrogate(c)
            ? string.Create(System.Globalization.CultureInfo.InvariantCulture, $"\\u{(int)c:X4}")
            : c.ToString()));
        return text.Length > 120 ? shown + "..." : shown;
    }
}
