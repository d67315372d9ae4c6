using Parquet;
using Parquet.Schema;

namespace Concerto.Ingest.Segments.Manifests;

/// <summary>
/// Parquet manifests through Parquet.Net's column API. Deterministic: Parquet.Net stamps no time or random id in the
/// file (its only varying text is created_by, "Parquet.Net version 6.1.0 (build &lt;sha&gt;)", fixed by the locked
/// package version), dictionaries are built in first-seen order, and the key-value metadata below is constant.
/// </summary>
internal static class ParquetManifestWriter
{
    /// <summary>Key-value metadata written into every manifest, so a reader can tell what the flattened lists hold.</summary>
    internal static readonly IReadOnlyDictionary<string, string> FileMetadata = new Dictionary<string, string>
    {
        ["concerto.manifest.version"] = "1",
        ["concerto.manifest.camera_to_world"] = "per image a row-major 4x4 camera-to-world matrix, 16 values",
        ["concerto.manifest.intrinsics"] = "per image fx, fy, cx, cy, width, height, 6 values",
    };

    public static async Task WriteAsync(Stream output, IEnumerable<ManifestRow> rows, CancellationToken ct)
    {
        ct.ThrowIfCancellationRequested();
        var list = rows.ToList();
        for (var i = 0; i < list.Count; i++)
        {
            ArgumentNullException.ThrowIfNull(list[i], nameof(rows));
            list[i].Validate(i);
        }

        var metricKeys = list.SelectMany(r => r.Metrics.Keys).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToArray();
        var columns = new ManifestParquetSchema(metricKeys);
        var options = new ParquetOptions
        {
            // Snappy: the Parquet default that every reader (pyarrow, DuckDB, Spark) decodes fast, and Parquet.Net
            // compresses it in managed code (Snappier, pinned by the lock file), so the bytes are the same on every
            // machine. Gzip would go through the runtime's native zlib, whose output may change with the runtime build;
            // manifests are small, so gzip's better ratio is not worth that.
            CompressionMethod = CompressionMethod.Snappy,
        };
        foreach (var field in columns.DictionaryColumns) options.ColumnEncodingHints[field.Path.ToString()] = EncodingHint.Dictionary;

        await using var writer = await ParquetWriter.CreateAsync(columns.Schema, output, options, append: false, ct);
        writer.CustomMetadata = FileMetadata;
        for (var start = 0; start < list.Count; start += ManifestWriter.ParquetRowGroupSize)
        {
            ct.ThrowIfCancellationRequested();
            var count = Math.Min(ManifestWriter.ParquetRowGroupSize, list.Count - start);
            using var group = writer.CreateRowGroup();
            await WriteRowGroupAsync(group, columns, list.GetRange(start, count), ct);
            group.CompleteValidate();
        }
    }

    private static async Task WriteRowGroupAsync(ParquetRowGroupWriter group, ManifestParquetSchema columns, List<ManifestRow> rows, CancellationToken ct)
    {
        // Columns go in schema order.
        await WriteStringsAsync(group, columns.DatasetName, rows, r => r.DatasetName, ct);
        await group.WriteAsync<int>(columns.DatasetVersion, rows.Select(r => r.DatasetVersion).ToArray(), cancellationToken: ct);
        await group.WriteAsync<long>(columns.SegmentId, rows.Select(r => r.SegmentId).ToArray(), cancellationToken: ct);
        await WriteStringsAsync(group, columns.SceneId, rows, r => r.SceneId, ct);
        await group.WriteAsync<long>(columns.RunId, rows.Select(r => r.RunId).ToArray(), cancellationToken: ct);
        await WriteStringsAsync(group, columns.VideoSha256, rows, r => r.VideoSha256, ct);
        await WriteStringsAsync(group, columns.SourcePath, rows, r => r.SourcePath, ct);
        await WriteStringsAsync(group, columns.Split, rows, r => r.Split, ct);
        await WriteStringsAsync(group, columns.PointCloudUri, rows, r => r.PointCloudUri, ct);
        await group.WriteAsync<int>(columns.Points, rows.Select(r => r.Points).ToArray(), cancellationToken: ct);
        await WriteListAsync(group, columns.ImageUris, rows, r => r.ImageUris.Select(s => s.AsMemory()), ct);
        await WriteListAsync(group, columns.CorrespondenceUris, rows, r => r.CorrespondenceUris.Select(s => s.AsMemory()), ct);
        await WriteListAsync(group, columns.FeatureUris, rows, r => r.FeatureUris?.Select(s => s.AsMemory()), ct);
        await WriteListAsync(group, columns.FrameIndices, rows, r => r.FrameIndices, ct);
        await WriteListAsync(group, columns.CameraToWorld, rows, r => r.CameraToWorld.SelectMany(m => m), ct);
        await WriteListAsync(group, columns.Intrinsics, rows, r => r.Intrinsics.SelectMany(k => k), ct);
        for (var m = 0; m < columns.MetricKeys.Count; m++)
        {
            var key = columns.MetricKeys[m];
            var values = rows.Select(r => r.Metrics.TryGetValue(key, out var v) ? v : (double?)null).ToArray();
            await group.WriteAsync<double>(columns.MetricFields[m], new ReadOnlyMemory<double?>(values), cancellationToken: ct);
        }
    }

    private static Task WriteStringsAsync(ParquetRowGroupWriter group, DataField field, List<ManifestRow> rows, Func<ManifestRow, string> select, CancellationToken ct) =>
        group.WriteAsync<ReadOnlyMemory<char>>(field, rows.Select(r => select(r).AsMemory()).ToArray(), cancellationToken: ct);

    /// <summary>
    /// Writes one LIST column with explicit levels: per row a null list (definition 0), an empty list (1), or its
    /// elements (2), the first entry of each row at repetition level 0 and the rest at 1.
    /// </summary>
    private static Task WriteListAsync<T>(ParquetRowGroupWriter group, ListField list, List<ManifestRow> rows, Func<ManifestRow, IEnumerable<T>?> select, CancellationToken ct)
        where T : struct
    {
        var element = ManifestParquetSchema.Element(list);
        var values = new List<T>(rows.Count * 4);
        var definitions = new List<int>(rows.Count * 4);
        var repetitions = new List<int>(rows.Count * 4);
        foreach (var row in rows)
        {
            var items = select(row);
            var first = true;
            if (items is not null)
            {
                foreach (var item in items)
                {
                    values.Add(item);
                    definitions.Add(element.MaxDefinitionLevel);
                    repetitions.Add(first ? 0 : element.MaxRepetitionLevel);
                    first = false;
                }
            }

            if (first)
            {
                definitions.Add(items is null ? 0 : list.MaxDefinitionLevel - 1);
                repetitions.Add(0);
            }
        }

        return group.WriteAllPartsAsync<T>(element, values.ToArray(), definitions.ToArray(), repetitions.ToArray(), ct);
    }
}
