using Concerto.Ingest.Formats.Manifests;
using Parquet;
using Parquet.Schema;
using Parquet.Serialization;
using static Concerto.Ingest.Formats.Tests.Manifests.ManifestSamples;

namespace Concerto.Ingest.Formats.Tests.Manifests;

public class ParquetManifestTests
{
    private static readonly string[] FixedColumns =
    [
        "dataset_name", "dataset_version", "segment_id", "scene_id", "run_id", "video_sha256", "source_path", "split",
        "point_cloud_uri", "points", "image_uris", "correspondence_uris", "feature_uris", "frame_indices",
        "camera_to_world", "intrinsics", "image_sizes",
    ];

    private static async Task<MemoryStream> WriteAsync(IEnumerable<ManifestRow> rows)
    {
        var stream = new MemoryStream();
        await ManifestWriter.WriteAsync(stream, ManifestFormat.Parquet, rows);
        stream.Position = 0;
        return stream;
    }

    [Fact]
    public async Task WriteAsync_RoundTripsEveryField_WithOneToFourImagesAndOptionalFeatures()
    {
        var rows = Mixed();
        using var stream = await WriteAsync(rows);

        var read = await ManifestReader.ReadParquetAsync(stream);

        Assert.Equal(rows.Count, read.Count);
        for (var i = 0; i < rows.Count; i++) AssertSame(rows[i], read[i]);
        Assert.Equal([4, 1, 2, 3, 4], read.Select(r => r.ImageUris.Count));
        Assert.Equal([true, false, true, false, false], read.Select(r => r.FeatureUris is not null));
    }

    [Fact]
    public async Task WriteAsync_WritesSnakeCaseSchemaWithListsAndSortedMetricColumns()
    {
        using var stream = await WriteAsync(Mixed());

        var schema = await ParquetReader.ReadSchemaAsync(stream);

        string[] metrics = ["metric_blur_p90", "metric_coverage_min", "metric_overlap_max", "metric_visible_fraction_mean"];
        Assert.Equal([.. FixedColumns, .. metrics], schema.Fields.Select(f => f.Name));
        var fields = schema.Fields.ToDictionary(f => f.Name);
        Assert.Equal(typeof(int), ((DataField)fields["dataset_version"]).ClrType);
        Assert.Equal(typeof(long), ((DataField)fields["segment_id"]).ClrType);
        Assert.Equal(typeof(long), ((DataField)fields["run_id"]).ClrType);
        Assert.Equal(typeof(int), ((DataField)fields["points"]).ClrType);
        Assert.False(((DataField)fields["split"]).IsNullable);
        Assert.Equal(typeof(ReadOnlyMemory<char>), ((DataField)((ListField)fields["image_uris"]).Item).ClrType);
        Assert.Equal(typeof(int), ((DataField)((ListField)fields["frame_indices"]).Item).ClrType);
        // Per image a 4 x 4 and a 3 x 3 list of lists, and [width, height]: nested as pyarrow and HF datasets read them.
        Assert.Equal(typeof(double), ((DataField)((ListField)((ListField)((ListField)fields["camera_to_world"]).Item).Item).Item).ClrType);
        Assert.Equal(typeof(double), ((DataField)((ListField)((ListField)((ListField)fields["intrinsics"]).Item).Item).Item).ClrType);
        Assert.Equal(typeof(int), ((DataField)((ListField)((ListField)fields["image_sizes"]).Item).Item).ClrType);
        Assert.All(metrics, m => Assert.True(((DataField)fields[m]).IsNullable));
        Assert.All(metrics, m => Assert.Equal(typeof(double), ((DataField)fields[m]).ClrType));
    }

    [Fact]
    public async Task WriteAsync_NestsPosesAndIntrinsicsPerImage_ReadWithParquetNetDirectly()
    {
        var rows = Mixed();
        using var stream = await WriteAsync(rows);

        await using var reader = await ParquetReader.CreateAsync(stream);
        Assert.Equal(1, reader.RowGroupCount);
        var group = reader.OpenRowGroupReader(0);
        var (poses, poseReps) = await ReadDoublesAsync(group, reader.Schema, "camera_to_world");
        var (intrinsics, intrinsicsReps) = await ReadDoublesAsync(group, reader.Schema, "intrinsics");

        Assert.Equal(rows.SelectMany(r => r.CameraToWorld.SelectMany(m => m)).Select(Bits), poses.Select(Bits));
        double[] K(double[] k) => [k[0], 0, k[2], 0, k[1], k[3], 0, 0, 1];
        Assert.Equal(rows.SelectMany(r => r.Intrinsics.SelectMany(K)).Select(Bits), intrinsics.Select(Bits));
        // Repetition levels: 0 starts a row, 1 an image, 2 a matrix row, 3 the next value of a matrix row.
        Assert.Equal(Levels(rows, 4), poseReps);
        Assert.Equal(Levels(rows, 3), intrinsicsReps);
    }

    /// <summary>Manifests written before poses and intrinsics were nested (version 1: 16 and fx, fy, cx, cy, width,
    /// height values per image, flat) still read.</summary>
    [Fact]
    public async Task ReadParquetAsync_ReadsVersionOneFlatManifests()
    {
        var rows = Mixed();
        var flat = rows.Select(r => new VersionOneRow
        {
            DatasetName = r.DatasetName, DatasetVersion = r.DatasetVersion, SegmentId = r.SegmentId, SceneId = r.SceneId, RunId = r.RunId,
            VideoSha256 = r.VideoSha256, SourcePath = r.SourcePath, Split = r.Split, PointCloudUri = r.PointCloudUri, Points = r.Points,
            ImageUris = [.. r.ImageUris], CorrespondenceUris = [.. r.CorrespondenceUris], FeatureUris = r.FeatureUris?.ToList(),
            FrameIndices = [.. r.FrameIndices], CameraToWorld = [.. r.CameraToWorld.SelectMany(m => m)], Intrinsics = [.. r.Intrinsics.SelectMany(k => k)],
        }).ToList();
        using var stream = new MemoryStream();
        await ParquetSerializer.SerializeAsync(flat, stream);
        stream.Position = 0;

        var read = await ManifestReader.ReadParquetAsync(stream);

        Assert.Equal(rows.Count, read.Count);
        for (var i = 0; i < rows.Count; i++)
        {
            Assert.Equal(rows[i].CameraToWorld.SelectMany(m => m).Select(Bits), read[i].CameraToWorld.SelectMany(m => m).Select(Bits));
            Assert.Equal(rows[i].Intrinsics.SelectMany(k => k).Select(Bits), read[i].Intrinsics.SelectMany(k => k).Select(Bits));
            Assert.Equal(rows[i].ImageUris, read[i].ImageUris);
        }
    }

    /// <summary>A manifest row as version 1 stored it (Parquet.Net's serializer writes the same LIST layout).</summary>
    private sealed class VersionOneRow
    {
        [System.Text.Json.Serialization.JsonPropertyName("dataset_name"), Parquet.Serialization.Attributes.ParquetRequired] public string DatasetName { get; set; } = "";
        [System.Text.Json.Serialization.JsonPropertyName("dataset_version")] public int DatasetVersion { get; set; }
        [System.Text.Json.Serialization.JsonPropertyName("segment_id")] public long SegmentId { get; set; }
        [System.Text.Json.Serialization.JsonPropertyName("scene_id"), Parquet.Serialization.Attributes.ParquetRequired] public string SceneId { get; set; } = "";
        [System.Text.Json.Serialization.JsonPropertyName("run_id")] public long RunId { get; set; }
        [System.Text.Json.Serialization.JsonPropertyName("video_sha256"), Parquet.Serialization.Attributes.ParquetRequired] public string VideoSha256 { get; set; } = "";
        [System.Text.Json.Serialization.JsonPropertyName("source_path"), Parquet.Serialization.Attributes.ParquetRequired] public string SourcePath { get; set; } = "";
        [System.Text.Json.Serialization.JsonPropertyName("split"), Parquet.Serialization.Attributes.ParquetRequired] public string Split { get; set; } = "";
        [System.Text.Json.Serialization.JsonPropertyName("point_cloud_uri"), Parquet.Serialization.Attributes.ParquetRequired] public string PointCloudUri { get; set; } = "";
        [System.Text.Json.Serialization.JsonPropertyName("points")] public int Points { get; set; }
        [System.Text.Json.Serialization.JsonPropertyName("image_uris")] public List<string> ImageUris { get; set; } = [];
        [System.Text.Json.Serialization.JsonPropertyName("correspondence_uris")] public List<string> CorrespondenceUris { get; set; } = [];
        [System.Text.Json.Serialization.JsonPropertyName("feature_uris")] public List<string>? FeatureUris { get; set; }
        [System.Text.Json.Serialization.JsonPropertyName("frame_indices")] public List<int> FrameIndices { get; set; } = [];
        [System.Text.Json.Serialization.JsonPropertyName("camera_to_world")] public List<double> CameraToWorld { get; set; } = [];
        [System.Text.Json.Serialization.JsonPropertyName("intrinsics")] public List<double> Intrinsics { get; set; } = [];
    }

    [Fact]
    public async Task WriteAsync_WritesNullFeatureListOnlyWhereRowHasNoFeatures()
    {
        ManifestRow[] rows = [Row(1, images: 2, features: true), Row(2, images: 3, features: false), Row(3, images: 1, features: true)];
        using var stream = await WriteAsync(rows);

        await using var reader = await ParquetReader.CreateAsync(stream);
        var list = (ListField)reader.Schema.Fields.Single(f => f.Name == "feature_uris");
        var element = (DataField)list.Item;
        var group = reader.OpenRowGroupReader(0);
        var n = (int)group.GetMetadata(element)!.MetaData!.NumValues;
        var values = new ReadOnlyMemory<char>[n];
        var definitions = new int[n];
        var repetitions = new int[n];
        await group.ReadRawAsync<ReadOnlyMemory<char>>(element, values, definitions, repetitions);

        // Row 1: two features; row 2: one entry at definition level 0 (null list); row 3: one feature.
        Assert.Equal([2, 2, 0, 2], definitions);
        Assert.Equal([0, 1, 0, 0], repetitions);
        Assert.Equal(["s3://concerto/segments/1/feat_0.npy", "s3://concerto/segments/1/feat_1.npy", "s3://concerto/segments/3/feat_0.npy"],
            values.Take(3).Select(v => v.ToString()));
    }

    [Fact]
    public async Task WriteAsync_WritesUnionOfMetricKeys_NullWhereRowLacksMetric()
    {
        ManifestRow[] rows =
        [
            Row(1, metrics: new Dictionary<string, double> { ["overlap_max"] = 0.5, ["coverage_min"] = 0.1 }),
            Row(2, metrics: new Dictionary<string, double>()),
            Row(3, metrics: new Dictionary<string, double> { ["blur_p90"] = 3.25 }),
        ];
        using var stream = await WriteAsync(rows);

        await using var reader = await ParquetReader.CreateAsync(stream);
        var group = reader.OpenRowGroupReader(0);
        var columns = new Dictionary<string, double?[]>();
        foreach (var field in reader.Schema.DataFields.Where(f => f.Name.StartsWith("metric_", StringComparison.Ordinal)))
        {
            var values = new double?[3];
            await group.ReadAsync<double>(field, values);
            columns[field.Name] = values;
        }

        Assert.Equal(["metric_blur_p90", "metric_coverage_min", "metric_overlap_max"], columns.Keys);
        Assert.Equal([null, null, 3.25], columns["metric_blur_p90"]);
        Assert.Equal([0.1, null, null], columns["metric_coverage_min"]);
        Assert.Equal([0.5, null, null], columns["metric_overlap_max"]);
        stream.Position = 0;
        var read = await ManifestReader.ReadParquetAsync(stream);
        Assert.Equal(["coverage_min", "overlap_max"], read[0].Metrics.Keys.Order(StringComparer.Ordinal));
        Assert.Empty(read[1].Metrics);
        Assert.Equal(3.25, Assert.Single(read[2].Metrics).Value);
    }

    [Fact]
    public async Task WriteAsync_IsByteIdentical_WhenSameRowsWrittenTwice()
    {
        var first = (await WriteAsync(Mixed())).ToArray();
        var second = (await WriteAsync(Mixed())).ToArray();
        using var unseekable = new WriteOnlyStream();
        await ManifestWriter.WriteAsync(unseekable, ManifestFormat.Parquet, Mixed());

        Assert.Equal(first, second);
        Assert.Equal(first, unseekable.Inner.ToArray());
        using var stream = new MemoryStream(first);
        await using var reader = await ParquetReader.CreateAsync(stream);
        Assert.StartsWith("Parquet.Net version 6.1.0", reader.Metadata!.CreatedBy, StringComparison.Ordinal);
        Assert.Equal("2", reader.CustomMetadata["concerto.manifest.version"]);
    }

    [Fact]
    public async Task WriteAsync_WritesSchemaAndNoRowGroups_WhenNoRows()
    {
        using var stream = await WriteAsync([]);

        await using (var reader = await ParquetReader.CreateAsync(stream, leaveStreamOpen: true))
        {
            Assert.Equal(FixedColumns, reader.Schema.Fields.Select(f => f.Name));
            Assert.Equal(0, reader.RowGroupCount);
        }

        stream.Position = 0;
        Assert.Empty(await ManifestReader.ReadParquetAsync(stream));
    }

    [Theory]
    [InlineData(20_000, new long[] { 10_000, 10_000 })]
    [InlineData(20_001, new long[] { 10_000, 10_000, 1 })]
    public async Task WriteAsync_SplitsRowGroupsAtTenThousandRows_WhenManifestIsLarge(int count, long[] groups)
    {
        var rows = Enumerable.Range(0, count).Select(i => Row(i, images: 1 + i % 4, features: i % 3 != 0)).ToList();
        using var stream = await WriteAsync(rows);

        await using (var reader = await ParquetReader.CreateAsync(stream, leaveStreamOpen: true))
        {
            Assert.Equal(groups, reader.RowGroups.Select(g => g.RowCount));
        }

        stream.Position = 0;
        var read = await ManifestReader.ReadParquetAsync(stream);
        Assert.Equal(rows.Count, read.Count);
        Assert.Equal(rows.Select(r => r.SegmentId), read.Select(r => r.SegmentId));
        foreach (var i in new[] { 0, 9_999, 10_000, 10_001, count - 1 }) AssertSame(rows[i], read[i]);
    }

    [Fact]
    public async Task ReadParquetAsync_ReadsUnseekableStream()
    {
        var bytes = (await WriteAsync(Mixed())).ToArray();
        using var unseekable = new ReadOnlyForwardStream(bytes);

        var read = await ManifestReader.ReadParquetAsync(unseekable);

        Assert.Equal(Mixed().Select(r => r.SegmentId), read.Select(r => r.SegmentId));
    }

    private static async Task<(double[] Values, int[] Repetitions)> ReadDoublesAsync(ParquetRowGroupReader group, ParquetSchema schema, string name)
    {
        Field field = schema.Fields.Single(f => f.Name == name);
        while (field is ListField list) field = list.Item;
        var element = (DataField)field;
        var n = (int)group.GetMetadata(element)!.MetaData!.NumValues;
        var values = new double[n];
        var definitions = new int[n];
        var repetitions = new int[n];
        await group.ReadRawAsync<double>(element, values, definitions, repetitions);
        Assert.All(definitions, d => Assert.Equal(element.MaxDefinitionLevel, d));
        return (values, repetitions);
    }

    /// <summary>The repetition levels of a per-image side x side matrix column.</summary>
    private static int[] Levels(IEnumerable<ManifestRow> rows, int side)
    {
        var levels = new List<int>();
        foreach (var row in rows)
            for (var image = 0; image < row.ImageUris.Count; image++)
            for (var r = 0; r < side; r++)
            for (var c = 0; c < side; c++)
                levels.Add(image == 0 && r == 0 && c == 0 ? 0 : c > 0 ? 3 : r > 0 ? 2 : 1);
        return [.. levels];
    }

    /// <summary>A destination like a network response: write-only, no seeking, no length.</summary>
    private sealed class WriteOnlyStream : Stream
    {
        public MemoryStream Inner { get; } = new();
        public override bool CanRead => false;
        public override bool CanSeek => false;
        public override bool CanWrite => true;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
        public override void Flush() { }
        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => Inner.Write(buffer, offset, count);

        protected override void Dispose(bool disposing)
        {
            if (disposing) Inner.Dispose();
            base.Dispose(disposing);
        }
    }

    /// <summary>A source like a download: read-only, forward only.</summary>
    private sealed class ReadOnlyForwardStream(byte[] bytes) : Stream
    {
        private readonly MemoryStream _inner = new(bytes);
        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => false;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
        public override void Flush() { }
        public override int Read(byte[] buffer, int offset, int count) => _inner.Read(buffer, offset, count);
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        protected override void Dispose(bool disposing)
        {
            if (disposing) _inner.Dispose();
            base.Dispose(disposing);
        }
    }
}
