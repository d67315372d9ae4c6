using Parquet;
using Parquet.Schema;

namespace Concerto.Ingest.Formats.Manifests;

/// <summary>Reads manifests written by <see cref="ManifestWriter"/> back into rows.</summary>
public static class ManifestReader
{
    /// <summary>
    /// Reads every row of a Parquet manifest, in file order. Metric columns (metric_&lt;key&gt;) become
    /// <see cref="ManifestRow.Metrics"/> entries where not null; the flattened pose and intrinsics lists are split back
    /// into 16 and 6 values per image. A stream that cannot seek is copied into memory first.
    /// </summary>
    /// <exception cref="InvalidDataException">The file lacks a manifest column or its lists do not fit together.</exception>
    public static async Task<List<ManifestRow>> ReadParquetAsync(Stream input, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(input);
        if (!input.CanSeek)
        {
            var copy = new MemoryStream();
            await input.CopyToAsync(copy, ct);
            copy.Position = 0;
            await using (copy)
                return await ReadParquetAsync(copy, ct);
        }

        await using var reader = await ParquetReader.CreateAsync(input, parquetOptions: null, leaveStreamOpen: true, ct);
        var file = new FileColumns(reader.Schema);
        var rows = new List<ManifestRow>();
        for (var g = 0; g < reader.RowGroupCount; g++)
        {
            using var group = reader.OpenRowGroupReader(g);
            await ReadRowGroupAsync(group, file, rows, ct);
        }

        return rows;
    }

    private static async Task ReadRowGroupAsync(ParquetRowGroupReader group, FileColumns file, List<ManifestRow> rows, CancellationToken ct)
    {
        var n = checked((int)group.RowCount);
        var datasetNames = await ReadStringsAsync(group, file.Scalar("dataset_name"), n, ct);
        var datasetVersions = await ReadAsync<int>(group, file.Scalar("dataset_version"), n, ct);
        var segmentIds = await ReadAsync<long>(group, file.Scalar("segment_id"), n, ct);
        var sceneIds = await ReadStringsAsync(group, file.Scalar("scene_id"), n, ct);
        var runIds = await ReadAsync<long>(group, file.Scalar("run_id"), n, ct);
        var videoHashes = await ReadStringsAsync(group, file.Scalar("video_sha256"), n, ct);
        var sourcePaths = await ReadStringsAsync(group, file.Scalar("source_path"), n, ct);
        var splits = await ReadStringsAsync(group, file.Scalar("split"), n, ct);
        var pointClouds = await ReadStringsAsync(group, file.Scalar("point_cloud_uri"), n, ct);
        var points = await ReadAsync<int>(group, file.Scalar("points"), n, ct);
        var images = await ReadListAsync<ReadOnlyMemory<char>, string>(group, file.List("image_uris"), n, m => m.ToString(), ct);
        var correspondences = await ReadListAsync<ReadOnlyMemory<char>, string>(group, file.List("correspondence_uris"), n, m => m.ToString(), ct);
        var features = await ReadListAsync<ReadOnlyMemory<char>, string>(group, file.List("feature_uris"), n, m => m.ToString(), ct);
        var frames = await ReadListAsync<int, int>(group, file.List("frame_indices"), n, v => v, ct);
        var poses = await ReadListAsync<double, double>(group, file.List("camera_to_world"), n, v => v, ct);
        var intrinsics = await ReadListAsync<double, double>(group, file.List("intrinsics"), n, v => v, ct);
        // Version 2 nests poses (4 x 4) and intrinsics (3 x 3) per image and keeps the sizes apart; version 1 was flat.
        var nested = file.List("camera_to_world").Item is ListField;
        var sizes = nested ? await ReadListAsync<int, int>(group, file.List("image_sizes"), n, v => v, ct) : null;
        var metrics = new List<(string Key, double?[] Values)>();
        foreach (var (key, field) in file.Metrics)
        {
            var values = new double?[n];
            await group.ReadAsync<double>(field, values, cancellationToken: ct);
            metrics.Add((key, values));
        }

        for (var i = 0; i < n; i++)
        {
            var imageUris = images[i] ?? throw Bad(segmentIds[i], "image_uris is null");
            var rowMetrics = new Dictionary<string, double>(StringComparer.Ordinal);
            foreach (var (key, values) in metrics)
                if (values[i] is { } value) rowMetrics[key] = value;
            rows.Add(new ManifestRow
            {
                DatasetName = datasetNames[i],
                DatasetVersion = datasetVersions[i],
                SegmentId = segmentIds[i],
                SceneId = sceneIds[i],
                RunId = runIds[i],
                VideoSha256 = videoHashes[i],
                SourcePath = sourcePaths[i],
                Split = splits[i],
                PointCloudUri = pointClouds[i],
                Points = points[i],
                ImageUris = imageUris,
                CorrespondenceUris = correspondences[i] ?? throw Bad(segmentIds[i], "correspondence_uris is null"),
                FeatureUris = features[i],
                FrameIndices = frames[i] ?? throw Bad(segmentIds[i], "frame_indices is null"),
                CameraToWorld = Unflatten(poses[i], ManifestRow.PoseValues, imageUris.Length, segmentIds[i], "camera_to_world"),
                Intrinsics = nested
                    ? FromMatrices(Unflatten(intrinsics[i], 9, imageUris.Length, segmentIds[i], "intrinsics"),
                        Unflatten(sizes![i]?.Select(v => (double)v).ToArray(), 2, imageUris.Length, segmentIds[i], "image_sizes"))
                    : Unflatten(intrinsics[i], ManifestRow.IntrinsicsValues, imageUris.Length, segmentIds[i], "intrinsics"),
                Metrics = rowMetrics,
            });
        }
    }

    private static async Task<T[]> ReadAsync<T>(ParquetRowGroupReader group, DataField field, int n, CancellationToken ct)
        where T : struct
    {
        var values = new T[n];
        await group.ReadAsync<T>(field, values, cancellationToken: ct);
        return values;
    }

    private static async Task<string[]> ReadStringsAsync(ParquetRowGroupReader group, DataField field, int n, CancellationToken ct)
    {
        var raw = await ReadAsync<ReadOnlyMemory<char>>(group, field, n, ct);
        return Array.ConvertAll(raw, m => m.ToString());
    }

    /// <summary>Reads a LIST column into one array per row, null where the row's list is null; a nested list's values
    /// come flattened in order (a row starts at repetition level 0).</summary>
    private static async Task<TOut[]?[]> ReadListAsync<T, TOut>(ParquetRowGroupReader group, ListField list, int n, Func<T, TOut> convert, CancellationToken ct)
        where T : struct
    {
        var element = ManifestParquetSchema.Element(list);
        var entries = checked((int)(group.GetMetadata(element)?.MetaData?.NumValues ?? throw new InvalidDataException($"column {list.Name} has no data")));
        var values = new T[entries];
        var definitions = new int[entries];
        var repetitions = new int[entries];
        await group.ReadRawAsync<T>(element, values, definitions, repetitions, ct);

        var rows = new TOut[]?[n];
        var current = new List<TOut>();
        var row = -1;
        var next = 0; // values hold only defined elements
        for (var i = 0; i <= entries; i++)
        {
            if (i == entries || repetitions[i] == 0)
            {
                if (row >= 0 && rows[row] is not null) rows[row] = [.. current];
                if (i == entries) break;
                row++;
                if (row >= n) throw new InvalidDataException($"column {list.Name} holds more than the row group's {n} rows");
                current.Clear();
                rows[row] = definitions[i] == 0 && list.IsNullable ? null : [];
            }

            if (definitions[i] == element.MaxDefinitionLevel) current.Add(convert(values[next++]));
            else if (definitions[i] >= list.MaxDefinitionLevel)
                throw new InvalidDataException($"column {list.Name} holds a null element; manifests have none");
        }

        if (row != n - 1) throw new InvalidDataException($"column {list.Name} holds {row + 1} rows, the row group {n}");
        return rows;
    }

    /// <summary>3 x 3 pinhole matrices and [width, height] as fx, fy, cx, cy, width, height.</summary>
    private static double[][] FromMatrices(double[][] matrices, double[][] sizes) =>
        [.. matrices.Select((k, i) => new[] { k[0], k[4], k[2], k[5], sizes[i][0], sizes[i][1] })];

    private static double[][] Unflatten(double[]? flat, int width, int images, long segmentId, string column)
    {
        if (flat is null || flat.Length != width * images)
            throw Bad(segmentId, $"{column} holds {flat?.Length ?? 0} values, expected {width} for each of {images} images");
        return [.. flat.Chunk(width)];
    }

    private static InvalidDataException Bad(long segmentId, string problem) => new($"manifest segment {segmentId}: {problem}");

    /// <summary>The file's own fields (levels and types as stored), looked up by column name.</summary>
    private sealed class FileColumns(ParquetSchema schema)
    {
        public IReadOnlyList<(string Key, DataField Field)> Metrics { get; } =
            schema.Fields.OfType<DataField>()
                .Where(f => f.Name.StartsWith(ManifestParquetSchema.MetricPrefix, StringComparison.Ordinal))
                .Select(f => (f.Name[ManifestParquetSchema.MetricPrefix.Length..], f))
                .ToArray();

        public DataField Scalar(string name) =>
            Find(name) as DataField ?? throw new InvalidDataException($"manifest column {name} is not a plain column");

        public ListField List(string name) =>
            Find(name) is ListField list && IsValues(list) ? list : throw new InvalidDataException($"manifest column {name} is not a list of values");

        private static bool IsValues(ListField list) => list.Item switch
        {
            DataField => true,
            ListField inner => IsValues(inner),
            _ => false,
        };

        private Field Find(string name) =>
            schema.Fields.FirstOrDefault(f => f.Name == name) ?? throw new InvalidDataException($"not a Concerto manifest: column {name} is missing");
    }
}
