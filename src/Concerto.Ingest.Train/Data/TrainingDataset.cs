using System.Globalization;
using Concerto.Ingest.Core.Datasets;
using Concerto.Ingest.Core.Media;
using Concerto.Ingest.Core.Profiles;
using Concerto.Ingest.Formats.Arrays;
using Concerto.Ingest.Formats.Datasets;
using Concerto.Ingest.Formats.Manifests;
using Concerto.Ingest.Formats.PointClouds;

namespace Concerto.Ingest.Train.Data;

/// <summary>
/// A dataset version as the trainer reads it: the rows of its manifest and, per row, the segment's Pointcept files
/// (shared/spec/concerto.md section 4) loaded into a <see cref="PointSample"/>. Works on a folder written by
/// <c>concerto dataset pull</c> (manifest.parquet with URIs relative to the folder) and on any Parquet manifest whose
/// URIs are file:// URIs (<c>concerto dataset export --format parquet</c>).
/// </summary>
/// <remarks><see cref="Load"/> only reads files and keeps no state, so background workers may call it at once.</remarks>
public sealed class TrainingDataset
{
    /// <summary>The manifest's name inside a pulled folder.</summary>
    public const string ManifestFileName = DatasetLayout.ManifestFile;

    private readonly Dictionary<string, int[]> _splits;
    private readonly string _gridSource;

    private TrainingDataset(string manifestPath, List<ManifestRow> rows, int featureWidth, TeacherGrid grid, string gridSource)
    {
        ManifestPath = manifestPath;
        Root = Path.GetDirectoryName(manifestPath)!;
        Rows = rows;
        FeatureWidth = featureWidth;
        TeacherGrid = grid;
        _gridSource = gridSource;
        _splits = Enumerable.Range(0, rows.Count)
            .GroupBy(i => rows[i].Split, StringComparer.Ordinal)
            .ToDictionary(g => g.Key, g => g.ToArray(), StringComparer.Ordinal);
        Splits = [.. _splits.Keys.Order(StringComparer.Ordinal)];
    }

    /// <summary>Full path of the manifest file.</summary>
    public string ManifestPath { get; }

    /// <summary>The folder relative URIs resolve against (the manifest's folder).</summary>
    public string Root { get; }

    /// <summary>The manifest's rows in file order; a row's index here is what <see cref="Load"/> takes.</summary>
    public IReadOnlyList<ManifestRow> Rows { get; }

    /// <summary>The split names present, in ordinal order.</summary>
    public IReadOnlyList<string> Splits { get; }

    /// <summary>Channels per teacher patch feature, from the first row that lists feature files; 0 when no row does.</summary>
    public int FeatureWidth { get; }

    /// <summary>The patch grid the feature files are laid out on and correspondences are mapped into: the teacherGrid
    /// of the dataset.json beside the manifest (<see cref="DatasetVersionFile"/>), DINOv2's 37 x 37 when it records none.</summary>
    public TeacherGrid TeacherGrid { get; }

    /// <summary>
    /// Opens the manifest at <paramref name="manifestPathOrFolder"/> (a manifest file, or a pulled folder holding
    /// <see cref="ManifestFileName"/>) and reads the header of the first feature file for <see cref="FeatureWidth"/>.
    /// </summary>
    /// <exception cref="FileNotFoundException">No manifest there.</exception>
    /// <exception cref="InvalidDataException">The manifest or the first feature file is unreadable (the message names it).</exception>
    public static async Task<TrainingDataset> OpenAsync(string manifestPathOrFolder, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(manifestPathOrFolder);
        var path = Path.GetFullPath(manifestPathOrFolder);
        if (Directory.Exists(path)) path = Path.Combine(path, ManifestFileName);
        if (!File.Exists(path))
            throw new FileNotFoundException(
                $"No dataset manifest at {path}. Pass a folder written by `concerto dataset pull` or a Parquet manifest file.", path);

        List<ManifestRow> rows;
        try
        {
            await using var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16, FileOptions.Asynchronous);
            rows = await ManifestReader.ReadParquetAsync(file, cancellationToken);
        }
        catch (Exception e) when (e is InvalidDataException or IOException && e is not FileNotFoundException)
        {
            throw new InvalidDataException($"{path}: not a readable Parquet dataset manifest ({e.Message})", e);
        }

        var root = Path.GetDirectoryName(path)!;
        TeacherGrid? recorded;
        try
        {
            recorded = DatasetVersionFile.ReadTeacherGrid(root);
        }
        catch (BadInputException e)
        {
            throw new InvalidDataException(e.Message, e);
        }

        var grid = recorded ?? TeacherGrid.Dinov2;
        var gridSource = recorded is null
            ? $"DINOv2's {grid} (no {DatasetVersionFile.TeacherGridKey} in {Path.Combine(root, DatasetVersionFile.FileName)})"
            : $"{grid}, the {DatasetVersionFile.TeacherGridKey} of {Path.Combine(root, DatasetVersionFile.FileName)}";
        var featureWidth = 0;
        if (rows.FirstOrDefault(r => r.FeatureUris is { Count: > 0 }) is { } first)
        {
            var feature = ResolvePath(root, first.FeatureUris![0]);
            featureWidth = Checked(first.SceneId, () => CheckFeature(feature, -1, grid, gridSource)).Width;
        }

        return new TrainingDataset(path, rows, featureWidth, grid, gridSource);
    }

    /// <summary>Indices into <see cref="Rows"/> of the rows in <paramref name="split"/>, ascending.</summary>
    /// <exception cref="ArgumentException">The dataset has no such split (the message lists those it has).</exception>
    public IReadOnlyList<int> ForSplit(string split)
    {
        ArgumentNullException.ThrowIfNull(split);
        return _splits.TryGetValue(split, out var rows) ? rows
            : throw new ArgumentException($"The dataset has no split '{split}'; it has {string.Join(", ", Splits.Select(s => $"'{s}'"))}.", nameof(split));
    }

    /// <summary>A manifest URI as a local path: relative URIs against <see cref="Root"/>, file:// URIs to their path.</summary>
    /// <exception cref="InvalidDataException">The URI has a scheme other than file.</exception>
    public string ResolvePath(string uri) => ResolvePath(Root, uri);

    /// <summary>
    /// Reads row <paramref name="row"/>'s segment: coord.npy (float32 N x 3), color.npy (uint8 N x 3, as floats),
    /// normal.npy (float32 N x 3), segment.npy when present (int32 or int64, N), and per image its correspondences
    /// (float32 M x 3; the sentinel [[-1, -1, -1]] reads as none), its teacher features (float16 grid tokens x D, the grid of <see cref="TeacherGrid"/>) when the row
    /// lists them, and its size from the manifest's intrinsics. <see cref="PointSample.SourceIndex"/> is 0..N-1.
    /// </summary>
    /// <exception cref="InvalidDataException">A file is missing or has the wrong type or shape, or the row does not fit
    /// its files; the message names the file, the segment and what was expected.</exception>
    public PointSample Load(int row)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(row);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(row, Rows.Count);
        var r = Rows[row];
        var key = r.SceneId;
        var cloud = ResolvePath(r.PointCloudUri);

        var coordPath = Path.Combine(cloud, PointCloudFiles.CoordFile);
        // The manifest's count first: files from another build would otherwise fail on a later array, less clearly.
        var n = Checked(key, () => NpyCheck.Check(coordPath, NpyHeader.Float32, "float32", [-1, 3], "(N, 3)")).Shape[0];
        if (n != r.Points)
            throw new InvalidDataException($"segment {key}: {coordPath} holds {n} points, the manifest says {r.Points}; the files and the manifest are from different builds, pull the dataset version again.");
        var points = Checked(key, () => PointCloudFiles.Read(cloud));
        if (n == 0) throw new InvalidDataException($"segment {key}: {coordPath} holds no points; leave the segment out of the dataset version.");

        var imageCount = r.ImageUris.Count;
        if (r.CorrespondenceUris.Count != imageCount || r.Intrinsics.Count != imageCount || (r.FeatureUris is { } listed && listed.Count != imageCount))
            throw new InvalidDataException($"segment {key}: the manifest lists {imageCount} images but {r.CorrespondenceUris.Count} correspondence files, {r.Intrinsics.Count} intrinsics and {r.FeatureUris?.Count ?? imageCount} feature files; the manifest is damaged, pull the dataset version again.");
        var images = new SampleImage[imageCount];
        for (var i = 0; i < images.Length; i++)
        {
            var (width, height) = ImageSize(r, i);
            var correspondence = Checked(key, () => SegmentImageFiles.ReadCorrespondences(ResolvePath(r.CorrespondenceUris[i]), n));
            Half[]? feature = null;
            var (featureWidth, copies) = (0, 1);
            if (r.FeatureUris is { } features)
            {
                var path = ResolvePath(features[i]);
                (featureWidth, copies) = Checked(key, () => CheckFeature(path, FeatureWidth > 0 ? FeatureWidth : -1, TeacherGrid, _gridSource));
                feature = Checked(key, () => Npy.Read<Half>(path).Data);
            }

            images[i] = new SampleImage(width, height, correspondence, feature, featureWidth, copies, TeacherGrid);
        }

        return new PointSample
        {
            Key = key,
            Coord = points.Coord,
            Color = Array.ConvertAll(points.Color, b => (float)b),
            Normal = points.Normal,
            Segment = points.Segment,
            SourceIndex = Enumerable.Range(0, n).ToArray(),
            Images = images,
        };
    }

    private static string ResolvePath(string root, string uri)
    {
        ArgumentNullException.ThrowIfNull(uri);
        if (uri.StartsWith("file:", StringComparison.OrdinalIgnoreCase))
            return Uri.TryCreate(uri, UriKind.Absolute, out var file) && file.IsFile ? file.LocalPath
                : throw new InvalidDataException($"'{uri}' is not a valid file URI");
        if (uri.Contains("://", StringComparison.Ordinal))
            throw new InvalidDataException($"'{uri}': only relative paths and file:// URIs are read; pull the dataset version to a local folder first.");
        return Path.IsPathRooted(uri) ? uri : Path.GetFullPath(Path.Combine(root, uri.Replace('/', Path.DirectorySeparatorChar)));
    }

    private static (int Width, int Height) ImageSize(ManifestRow row, int image)
    {
        var k = row.Intrinsics[image];
        double width = k[4], height = k[5];
        if (!(width >= 1 && height >= 1 && width == Math.Floor(width) && height == Math.Floor(height) && width <= int.MaxValue && height <= int.MaxValue))
            throw new InvalidDataException($"segment {row.SceneId}: image {image} has size {width.ToString(CultureInfo.InvariantCulture)} x {height.ToString(CultureInfo.InvariantCulture)} in the manifest's intrinsics; expected positive whole pixels");
        return ((int)width, (int)height);
    }

    /// <summary>A feature file: float16 (tokens, D), or (copies, tokens, D) with augmented copies after the plain features,
    /// tokens those of <paramref name="grid"/>; D must be <paramref name="width"/> when that is positive.</summary>
    private static (int Width, int Copies) CheckFeature(string path, int width, TeacherGrid grid, string gridSource)
    {
        var copies = NpyCheck.Header(path).Shape.Length == 3;
        var tokens = grid.Tokens;
        var text = (width > 0 ? $"({tokens}, {width}) or (copies, {tokens}, {width}) like the dataset's first feature file" : $"({tokens}, D) or (copies, {tokens}, D)") +
                   $": {tokens} tokens for the teacher grid {gridSource}; features of another teacher grid or width need a dataset version of their own";
        var header = NpyCheck.Check(path, NpyHeader.Float16, "float16", copies ? [-1, tokens, width] : [tokens, width], text);
        if (copies && header.Shape[0] < 1) throw new InvalidDataException($"{path} has shape {header.ShapeText}, no feature copy; expected {text}.");
        return copies ? (header.Shape[2], header.Shape[0]) : (header.Shape[1], 1);
    }

    /// <summary>Runs a read of segment <paramref name="key"/>'s files, naming the segment in its errors and saying
    /// what to do.</summary>
    private static T Checked<T>(string key, Func<T> read)
    {
        try
        {
            return read();
        }
        catch (InvalidDataException e)
        {
            throw new InvalidDataException($"segment {key}: {e.Message.TrimEnd('.')}; pull the dataset version again, or re-run the segment's stages if its files are bad at the source.", e);
        }
    }
}
