using System.Globalization;

namespace Concerto.Ingest.Formats.Manifests;

/// <summary>
/// One training segment of a dataset version as trainers see it in the manifest: a point cloud plus 1 to 4 images
/// (4 in practice), each with its camera pose, intrinsics, correspondence file and source frame.
/// </summary>
/// <remarks>
/// The per-image lists (<see cref="ImageUris"/>, <see cref="CorrespondenceUris"/>, <see cref="FeatureUris"/>,
/// <see cref="CameraToWorld"/>, <see cref="Intrinsics"/>, <see cref="FrameIndices"/>) are parallel: entry i of each
/// describes image i. The writers check this before writing anything.
/// </remarks>
public sealed record ManifestRow
{
    /// <summary>Values per image in <see cref="CameraToWorld"/>: a row-major 4x4 matrix.</summary>
    public const int PoseValues = 16;

    /// <summary>Values per image in <see cref="Intrinsics"/>: fx, fy, cx, cy, width, height.</summary>
    public const int IntrinsicsValues = 6;

    /// <summary>Most images a segment may have.</summary>
    public const int MaxImages = 4;

    public required string DatasetName { get; init; }
    public required int DatasetVersion { get; init; }
    public required long SegmentId { get; init; }

    /// <summary>Scene name, e.g. "run42".</summary>
    public required string SceneId { get; init; }

    public required long RunId { get; init; }
    public required string VideoSha256 { get; init; }
    public required string SourcePath { get; init; }

    /// <summary>"train", "val", "test", ...</summary>
    public required string Split { get; init; }

    public required string PointCloudUri { get; init; }
    public required int Points { get; init; }
    public required IReadOnlyList<string> ImageUris { get; init; }
    public required IReadOnlyList<string> CorrespondenceUris { get; init; }

    /// <summary>Teacher feature files, one per image; null when the segment has no teacher features.</summary>
    public IReadOnlyList<string>? FeatureUris { get; init; }

    /// <summary>Per image, the camera-to-world transform as a row-major 4x4 matrix (16 values).</summary>
    public required IReadOnlyList<double[]> CameraToWorld { get; init; }

    /// <summary>Per image: fx, fy, cx, cy, width, height (6 values).</summary>
    public required IReadOnlyList<double[]> Intrinsics { get; init; }

    /// <summary>Per image, the index of its frame in the source video.</summary>
    public required IReadOnlyList<int> FrameIndices { get; init; }

    /// <summary>
    /// Segment quality metrics such as coverage_min, visible_fraction_mean, overlap_max. Keys are letters, digits and
    /// underscores (they become Parquet column names); values must be finite.
    /// </summary>
    public IReadOnlyDictionary<string, double> Metrics { get; init; } = new Dictionary<string, double>();

    /// <summary>Throws <see cref="ArgumentException"/> naming the row and the field when the row cannot be written.</summary>
    /// <param name="index">Position of the row in the sequence being written, for the message.</param>
    internal void Validate(int index)
    {
        var where = $"manifest row {index} (segment {SegmentId})";
        Require(DatasetName, nameof(DatasetName));
        Require(SceneId, nameof(SceneId));
        Require(VideoSha256, nameof(VideoSha256));
        Require(SourcePath, nameof(SourcePath));
        Require(Split, nameof(Split));
        Require(PointCloudUri, nameof(PointCloudUri));

        if (ImageUris is null || ImageUris.Count is < 1 or > MaxImages)
            throw new ArgumentException($"{where}: {nameof(ImageUris)} must hold 1 to {MaxImages} entries, has {ImageUris?.Count.ToString(CultureInfo.InvariantCulture) ?? "null"}");
        var images = ImageUris.Count;
        RequireStrings(ImageUris, nameof(ImageUris));
        RequireStrings(CorrespondenceUris, nameof(CorrespondenceUris));
        if (FeatureUris is not null) RequireStrings(FeatureUris, nameof(FeatureUris));
        RequireVectors(CameraToWorld, PoseValues, nameof(CameraToWorld));
        RequireVectors(Intrinsics, IntrinsicsValues, nameof(Intrinsics));
        RequireCount(FrameIndices?.Count, nameof(FrameIndices));

        if (Metrics is null) throw new ArgumentException($"{where}: {nameof(Metrics)} is null; use an empty dictionary");
        foreach (var (key, value) in Metrics)
        {
            if (!IsMetricKey(key))
                throw new ArgumentException($"{where}: metric key '{key}' must be non-empty ASCII letters, digits and underscores");
            if (!double.IsFinite(value))
                throw new ArgumentException($"{where}: metric '{key}' is {Text(value)}; metrics must be finite");
        }

        void Require(string? value, string name)
        {
            if (value is null) throw new ArgumentException($"{where}: {name} is null");
        }

        void RequireCount(int? count, string name)
        {
            if (count != images)
                throw new ArgumentException($"{where}: {name} has {count?.ToString(CultureInfo.InvariantCulture) ?? "null"} entries, {nameof(ImageUris)} has {images}");
        }

        void RequireStrings(IReadOnlyList<string>? values, string name)
        {
            RequireCount(values?.Count, name);
            for (var i = 0; i < values!.Count; i++)
                if (values[i] is null) throw new ArgumentException($"{where}: {name}[{i}] is null");
        }

        void RequireVectors(IReadOnlyList<double[]>? values, int length, string name)
        {
            RequireCount(values?.Count, name);
            for (var i = 0; i < values!.Count; i++)
            {
                if (values[i]?.Length != length)
                    throw new ArgumentException($"{where}: {name}[{i}] must hold {length} values, has {values[i]?.Length.ToString(CultureInfo.InvariantCulture) ?? "null"}");
                foreach (var v in values[i])
                    if (!double.IsFinite(v)) throw new ArgumentException($"{where}: {name}[{i}] holds {Text(v)}; values must be finite");
            }
        }
    }

    private static string Text(double value) => value.ToString(CultureInfo.InvariantCulture);

    internal static bool IsMetricKey(string key) =>
        !string.IsNullOrEmpty(key) && key.All(c => char.IsAsciiLetterOrDigit(c) || c == '_');
}
