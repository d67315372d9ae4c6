using Parquet.Schema;

namespace Concerto.Ingest.Formats.Manifests;

/// <summary>
/// The manifest's Parquet schema for one set of metric keys. Fields belong to the schema they were built for, so each
/// write builds its own instance.
/// </summary>
/// <remarks>
/// Lists are Parquet LIST groups (optional list, repeated "list" group, required "element"): definition level 0 is a
/// null list, 1 an empty list, 2 an element. Only feature_uris is ever null; the other lists hold one entry per image.
/// camera_to_world and intrinsics nest per image (4 x 4 and 3 x 3 lists of lists, as pyarrow and Hugging Face datasets
/// read nested lists) and image_sizes holds [width, height] per image. Manifest version 1 stored poses and intrinsics
/// flat (16 and fx, fy, cx, cy, width, height per image); the reader still reads it.
/// </remarks>
internal sealed class ManifestParquetSchema
{
    public const string MetricPrefix = "metric_";

    public ManifestParquetSchema(IReadOnlyList<string> metricKeys)
    {
        MetricKeys = metricKeys;
        MetricFields = metricKeys.Select(k => new DataField<double>(MetricPrefix + k, nullable: true)).ToArray();
        Field[] fields =
        [
            DatasetName, DatasetVersion, SegmentId, SceneId, RunId, VideoSha256, SourcePath, Split, PointCloudUri, Points,
            ImageUris, CorrespondenceUris, FeatureUris, FrameIndices, CameraToWorld, Intrinsics, ImageSizes, .. MetricFields,
        ];
        Schema = new ParquetSchema(fields);
    }

    public ParquetSchema Schema { get; }
    public IReadOnlyList<string> MetricKeys { get; }
    public IReadOnlyList<DataField> MetricFields { get; }

    public DataField DatasetName { get; } = RequiredString("dataset_name");
    public DataField DatasetVersion { get; } = new DataField<int>("dataset_version", nullable: false);
    public DataField SegmentId { get; } = new DataField<long>("segment_id", nullable: false);
    public DataField SceneId { get; } = RequiredString("scene_id");
    public DataField RunId { get; } = new DataField<long>("run_id", nullable: false);
    public DataField VideoSha256 { get; } = RequiredString("video_sha256");
    public DataField SourcePath { get; } = RequiredString("source_path");
    public DataField Split { get; } = RequiredString("split");
    public DataField PointCloudUri { get; } = RequiredString("point_cloud_uri");
    public DataField Points { get; } = new DataField<int>("points", nullable: false);
    public ListField ImageUris { get; } = List<string>("image_uris");
    public ListField CorrespondenceUris { get; } = List<string>("correspondence_uris");
    public ListField FeatureUris { get; } = List<string>("feature_uris");
    public ListField FrameIndices { get; } = List<int>("frame_indices");
    public ListField CameraToWorld { get; } = Nested<double>("camera_to_world", depth: 3);
    public ListField Intrinsics { get; } = Nested<double>("intrinsics", depth: 3);
    public ListField ImageSizes { get; } = Nested<int>("image_sizes", depth: 2);

    /// <summary>String columns that repeat across many rows: dictionary encoding shrinks them to a few bits a row.</summary>
    public IEnumerable<DataField> DictionaryColumns => [DatasetName, SceneId, VideoSha256, SourcePath, Split];

    /// <summary>The values of a list, however deeply it nests.</summary>
    public static DataField Element(ListField list)
    {
        Field item = list;
        while (item is ListField l) item = l.Item;
        return (DataField)item;
    }

    private static DataField<string> RequiredString(string name) => new(name, nullable: false);

    private static ListField List<T>(string name) => new(name, new DataField<T>(ListField.ElementName, nullable: false));

    /// <summary>A list of lists (of lists...) of T, <paramref name="depth"/> levels.</summary>
    private static ListField Nested<T>(string name, int depth)
    {
        Field item = new DataField<T>(ListField.ElementName, nullable: false);
        for (var level = 1; level < depth; level++) item = new ListField(ListField.ElementName, item);
        return new ListField(name, item);
    }
}
