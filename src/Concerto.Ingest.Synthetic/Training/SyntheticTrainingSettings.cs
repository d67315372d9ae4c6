using System.Globalization;
using Concerto.Ingest.Core.Profiles;
using Concerto.Ingest.Formats.Manifests;

namespace Concerto.Ingest.Synthetic.Training;

/// <summary>What <see cref="SyntheticTrainingSet"/> writes. The defaults give 8 rooms x 2 segments x 4 images of
/// 160 x 120 with 32-channel synthetic teacher features: a set a trainer test or `concerto bench pretrain` can train and
/// linear-probe on in seconds.</summary>
public sealed record SyntheticTrainingSettings
{
    /// <summary>Largest image side accepted (the renderer ray-casts every pixel).</summary>
    public const int MaxImageSide = 4096;

    /// <summary>Scene seeds per split name: each seed is one procedural room (<c>SceneGenerator.Generate(seed)</c>) cut
    /// into <see cref="SegmentsPerScene"/> segments. A seed may appear once in the whole set; split names are letters,
    /// digits, '-' and '_' (they become folder names).</summary>
    public IReadOnlyDictionary<string, int[]> ScenesBySplit { get; init; } = new Dictionary<string, int[]>(StringComparer.Ordinal)
    {
        ["train"] = [1, 2, 3, 4, 5, 6],
        ["val"] = [101, 102],
    };

    /// <summary>Segments cut from each room.</summary>
    public int SegmentsPerScene { get; init; } = 2;

    /// <summary>Points sampled over the whole room (uniform by area) for each segment, before the segment's 2-3 m region
    /// is cut from them; a segment keeps roughly 5-15% of them (1,000-3,000 points at the default).</summary>
    public int PointsPerSegment { get; init; } = 20_000;

    /// <summary>Cameras (images) per segment, 1 to <see cref="ManifestRow.MaxImages"/>.</summary>
    public int ImagesPerSegment { get; init; } = 4;

    public int ImageWidth { get; init; } = 160;
    public int ImageHeight { get; init; } = 120;

    /// <summary>Horizontal field of view of the pinhole cameras, degrees.</summary>
    public double FieldOfViewDegrees { get; init; } = 70;

    /// <summary>Channels of the synthetic teacher's patch features (DINOv2 ViT-S would be 384).</summary>
    public int FeatureWidth { get; init; } = 32;

    /// <summary>Seeds the teacher's fixed projection matrix (shared by every image) and its per-image noise.</summary>
    public int FeatureSeed { get; init; }

    /// <summary>The patch grid the teacher's features are laid out on; null: DINOv2's 37 x 37 (another grid stands for a
    /// teacher such as Pointcept's 630 x 1120 crop at 45 x 80 patches).</summary>
    public TeacherGrid? FeatureGrid { get; init; }

    /// <summary>Standard deviation of the Gaussian noise added to every feature channel; the projected signal has about
    /// unit scale per channel.</summary>
    public double FeatureNoise { get; init; } = 0.05;

    /// <summary>Whether segment clouds carry segment.npy (class ids, <see cref="Scenes.SemanticClass"/>) and instance.npy.</summary>
    public bool IncludeLabels { get; init; } = true;

    /// <summary>The dataset name in the manifest and dataset.json.</summary>
    public string DatasetName { get; init; } = "synthetic";

    /// <summary>Segments worked on at once; null for one per processor.</summary>
    public int? MaxParallelism { get; init; }

    /// <summary>Throws <see cref="ArgumentException"/> naming the setting that cannot work and what would.</summary>
    public void Validate()
    {
        if (ScenesBySplit is null || ScenesBySplit.Count == 0)
            throw new ArgumentException("ScenesBySplit is empty; give at least one split with scene seeds, e.g. {\"train\": [1, 2]}.");
        var seen = new Dictionary<int, string>();
        foreach (var (split, seeds) in ScenesBySplit)
        {
            if (string.IsNullOrEmpty(split) || !split.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_'))
                throw new ArgumentException($"split name '{split}' must be non-empty ASCII letters, digits, '-' and '_' (it becomes a folder name).");
            if (seeds is null || seeds.Length == 0) throw new ArgumentException($"split '{split}' lists no scene seeds.");
            foreach (var seed in seeds)
                if (!seen.TryAdd(seed, split))
                    throw new ArgumentException($"scene seed {Text(seed)} appears in split '{seen[seed]}' and again in '{split}'; each room may appear once.");
        }

        Range(SegmentsPerScene, 1, 64, nameof(SegmentsPerScene));
        Range(PointsPerSegment, 1_000, 50_000_000, nameof(PointsPerSegment));
        Range(ImagesPerSegment, 1, ManifestRow.MaxImages, nameof(ImagesPerSegment));
        var grid = FeatureGrid ?? SyntheticTeacher.DefaultGrid;
        if (grid.Problem() is { } problem) throw new ArgumentException($"FeatureGrid: {problem}.");
        Range(ImageWidth, grid.Columns, MaxImageSide, nameof(ImageWidth));
        Range(ImageHeight, grid.Rows, MaxImageSide, nameof(ImageHeight));
        Range(FeatureWidth, 1, 65_536, nameof(FeatureWidth));
        if (!(FieldOfViewDegrees is > 10 and < 170))
            throw new ArgumentOutOfRangeException(nameof(FieldOfViewDegrees), FieldOfViewDegrees, "the horizontal field of view must lie in (10, 170) degrees");
        if (!(FeatureNoise >= 0 && double.IsFinite(FeatureNoise)))
            throw new ArgumentOutOfRangeException(nameof(FeatureNoise), FeatureNoise, "the feature noise must be a finite value >= 0");
        if (string.IsNullOrWhiteSpace(DatasetName)) throw new ArgumentException("DatasetName is empty.");
        if (MaxParallelism is < 1) throw new ArgumentOutOfRangeException(nameof(MaxParallelism), MaxParallelism, "must be >= 1, or null for one per processor");
    }

    private static void Range(int value, int min, int max, string name)
    {
        if (value < min || value > max)
            throw new ArgumentOutOfRangeException(name, value, $"{name} must lie in [{Text(min)}, {Text(max)}]");
    }

    private static string Text(int value) => value.ToString(CultureInfo.InvariantCulture);
}

/// <summary>What <see cref="SyntheticTrainingSet.Write"/> wrote.</summary>
/// <param name="Folder">The dataset folder (full path).</param>
/// <param name="SegmentsBySplit">Segments per split name.</param>
/// <param name="Points">Points over all segment clouds.</param>
/// <param name="Correspondences">Correspondence rows over all images.</param>
/// <param name="Bytes">Size of every file written.</param>
public sealed record SyntheticTrainingSummary(
    string Folder, int Segments, IReadOnlyDictionary<string, int> SegmentsBySplit, long Points, long Correspondences, long Bytes, TimeSpan Elapsed);
