namespace Concerto.Ingest.Formats.Manifests;

/// <summary>
/// Writes dataset manifests (one row per segment) as Parquet or JSON Lines. The same rows in the same order always give
/// the same bytes, so a manifest's hash identifies its content; rows are written in the order given.
/// </summary>
/// <remarks>
/// <para>Parquet schema (snake_case names; all scalars required):</para>
/// <list type="bullet">
/// <item>dataset_name, scene_id, video_sha256, source_path, split, point_cloud_uri: string (UTF-8 byte array)</item>
/// <item>dataset_version, points: int32; segment_id, run_id: int64</item>
/// <item>image_uris, correspondence_uris: list&lt;string&gt;; feature_uris: list&lt;string&gt;, null when the segment has no
/// teacher features</item>
/// <item>frame_indices: list&lt;int32&gt;</item>
/// <item>camera_to_world: list&lt;double&gt;, the images' row-major 4x4 matrices one after another (16 per image)</item>
/// <item>intrinsics: list&lt;double&gt;, fx, fy, cx, cy, width, height per image (6 per image)</item>
/// <item>metric_&lt;key&gt;: optional double, one column per metric key found in any row, in ordinal key order; null where a
/// row lacks that metric</item>
/// </list>
/// <para>Row groups hold up to <see cref="ParquetRowGroupSize"/> rows; an empty manifest is a valid file with the schema
/// and no row groups. JSON Lines holds the same fields in camelCase, with cameraToWorld and intrinsics as arrays of
/// per-image arrays and metrics as an object with ordinally sorted keys; an empty manifest is an empty file.</para>
/// </remarks>
public static class ManifestWriter
{
    /// <summary>Most rows in one Parquet row group.</summary>
    public const int ParquetRowGroupSize = 10_000;

    /// <summary>
    /// Writes <paramref name="rows"/> to <paramref name="output"/>, which is left open. Every row is checked first for
    /// Parquet (the metric columns depend on all rows, so the rows are held in memory); JSON Lines streams, so a bad row
    /// fails the call after the rows before it were written.
    /// </summary>
    /// <exception cref="ArgumentException">A row is incomplete or inconsistent (the message names it).</exception>
    public static Task WriteAsync(Stream output, ManifestFormat format, IEnumerable<ManifestRow> rows, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(output);
        ArgumentNullException.ThrowIfNull(rows);
        if (!output.CanWrite) throw new ArgumentException("the manifest stream is not writable", nameof(output));
        return format switch
        {
            ManifestFormat.Parquet => ParquetManifestWriter.WriteAsync(output, rows, ct),
            ManifestFormat.Jsonl => JsonlManifestWriter.WriteAsync(output, rows, ct),
            _ => throw new ArgumentOutOfRangeException(nameof(format), format, "unknown manifest format"),
        };
    }

    /// <summary>
    /// Writes the manifest to <paramref name="path"/> atomically: into a temporary file in the same folder, flushed to
    /// disk, then renamed over the target. Readers see the old file or the complete new one, never a partial one; on
    /// failure the target is untouched and the temporary file removed. The folder is created when missing.
    /// </summary>
    public static async Task WriteAsync(string path, ManifestFormat format, IEnumerable<ManifestRow> rows, CancellationToken ct = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        ArgumentNullException.ThrowIfNull(rows);
        var target = Path.GetFullPath(path);
        var folder = Path.GetDirectoryName(target) ?? throw new ArgumentException($"'{path}' names no file", nameof(path));
        Directory.CreateDirectory(folder);
        // Same folder, so the rename stays on one file system and is atomic; the dot prefix hides it from globbing readers.
        var temp = Path.Combine(folder, $".{Path.GetFileName(target)}.{Guid.NewGuid():N}.tmp");
        try
        {
            var options = new FileStreamOptions
            {
                Mode = FileMode.CreateNew,
                Access = FileAccess.Write,
                Share = FileShare.None,
                Options = FileOptions.Asynchronous,
                BufferSize = 1 << 16,
            };
            await using (var file = new FileStream(temp, options))
            {
                await WriteAsync(file, format, rows, ct);
                file.Flush(flushToDisk: true);
            }
            File.Move(temp, target, overwrite: true);
        }
        catch
        {
            TryDelete(temp);
            throw;
        }
    }

    private static void TryDelete(string path)
    {
        try
        {
            File.Delete(path);
        }
        catch (IOException)
        {
            // Best effort: the original error matters more than a leftover temporary file.
        }
        catch (UnauthorizedAccessException)
        {
            // As above.
        }
    }
}
