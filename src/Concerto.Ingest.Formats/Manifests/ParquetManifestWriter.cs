using Parquet;
using Parquet.Schema;

namespace Concerto.Ingest.Formats.Manifests;

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
        ["concerto.manifest.version"] = "2",
        ["concerto.manifest.camera_to_world"] = "per image a 4x4 camera-to-world matrix (OpenCV axes) as 4 rows of 4",
        ["concerto.manifest.intrinsics"] = "per image the 3x3 pinhole matrix [[fx, 0, cx], [0, fy, cy], [0, 0, 1]] in pixels",
        ["concerto.manifest.image_sizes"] = "per image [width, height] in pixels",
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
        await WriteNestedAsync(group, columns.CameraToWorld, rows, r => r.CameraToWorld.Select(m => m.Chunk(4).ToArray()).ToArray(), ct);
        await WriteNestedAsync(group, columns.Intrinsics, rows, r => r.Intrinsics.Select(Matrix).ToArray(), ct);
        await WriteNestedAsync(group, columns.ImageSizes, rows, r => r.Intrinsics.Select(k => new[] { new[] { (int)k[4], (int)k[5] } }).ToArray(), ct,
            innerLevels: 1);
        for (var m = 0; m < columns.MetricKeys.Count; m++)
        {
            var key = columns.MetricKeys[m];
            var values = rows.Select(r => r.Metrics.TryGetValue(key, out var v) ? v : (double?)null).ToArray();
            await group.WriteAsync<double>(columns.MetricFields[m], new ReadOnlyMemory<double?>(values), cancellationToken: ct);
        }
    }

    /// <summary>fx, fy, cx, cy (, width, height) as the 3 x 3 pinhole matrix.</summary>
    private static double[][] Matrix(double[] k) => [[k[0], 0, k[2]], [0, k[1], k[3]], [0, 0, 1]];

    /// <summary>
    /// Writes a list of lists (per row, per image, the inner lists): each value's repetition level says which list it
    /// starts, 0 for a row's first value, 1 for a new image, 2 for a new inner row, 3 for the next value of an inner row.
    /// With <paramref name="innerLevels"/> 1 the images' values are one flat inner list (list&lt;list&lt;T&gt;&gt;).
    /// </summary>
    private static Task WriteNestedAsync<T>(ParquetRowGroupWriter group, ListField list, List<ManifestRow> rows, Func<ManifestRow, T[][][]> select,
        CancellationToken ct, int innerLevels = 2)
        where T : struct
    {
        var element = ManifestParquetSchema.Element(list);
        var values = new List<T>(rows.Count * 64);
        var definitions = new List<int>(rows.Count * 64);
        var repetitions = new List<int>(rows.Count * 64);
        foreach (var row in rows)
        {
            var images = select(row);
            var first = true;
            for (var i = 0; i < images.Length; i++)
            for (var r = 0; r < images[i].Length; r++)
            for (var c = 0; c < images[i][r].Length; c++)
            {
                values.Add(images[i][r][c]);
                definitions.Add(element.MaxDefinitionLevel);
                repetitions.Add(first ? 0 : innerLevels == 1 ? (c > 0 ? 2 : 1) : c > 0 ? 3 : r > 0 ? 2 : 1);
                first = false;
            }

            if (first)
            {
                definitions.Add(list.MaxDefinitionLevel - 1);
                repetitions.Add(0);
            }
        }

        return group.WriteAllPartsAsync<T>(element, values.ToArray(), definitions.ToArray(), repetitions.ToArray(), ct);
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
