using Concerto.Ingest.Core.Datasets;
using Concerto.Ingest.Formats.Datasets;
using Concerto.Ingest.Formats.Manifests;
using Concerto.Ingest.Storage.Artifacts;
using Concerto.Ingest.Storage.Catalog;

namespace Concerto.Ingest.Jobs.Datasets;

/// <summary>What `concerto dataset pull` wrote.</summary>
public sealed record PullResult(string Folder, int Segments, long Bytes);

/// <summary>How <c>splits/*.json</c> name files. Pointcept's <c>DefaultImagePointDataset.get_data</c> opens them as
/// written, relative to its working directory (the Pointcept checkout), and the official split scripts write
/// <c>data/&lt;dataset&gt;/...</c>; so by default paths carry the prefix <c>data/&lt;dataset name&gt;</c>, where the
/// export is meant to sit in a checkout.</summary>
/// <param name="Prefix">Prefix before each path inside the export ("" for paths relative to the export itself); null:
/// <c>data/&lt;dataset name&gt;</c>.</param>
/// <param name="Absolute">Absolute paths into the export's final folder instead (the prefix is then unused).</param>
public sealed record SplitPaths(string? Prefix = null, bool Absolute = false)
{
    public static SplitPaths Default { get; } = new();

    /// <summary>The prefix for <paramref name="datasetName"/>'s export at <paramref name="target"/>, ending in '/' unless empty.</summary>
    public string PrefixFor(string datasetName, string target)
    {
        if (Absolute) return Path.TrimEndingDirectorySeparator(target) + "/";
        var prefix = (Prefix ?? $"data/{datasetName}").Replace('\\', '/').Trim();
        if (prefix.Split('/').Any(part => part == ".."))
            throw new ArgumentException($"--path-prefix '{Prefix}' must not contain '..'; give the folder the export will sit at inside the Pointcept checkout, e.g. data/{datasetName}");
        prefix = prefix.TrimEnd('/');
        return prefix.Length == 0 ? "" : prefix + "/";
    }
}

/// <summary>Writes a dataset version out: a manifest (Parquet or JSONL, one row per segment, artifact URIs), the Pointcept
/// layout Python trainers read (spec section 4), or both in one folder for a trainer (`pull`). Output depends only on
/// the version and the artifact root, so exporting twice gives the same bytes.</summary>
public sealed class DatasetExporter(DatasetCatalog catalog, IArtifactStore artifacts)
{
    /// <summary>A manifest whose URIs point into the artifact store (file:// or s3://) (the point cloud's is its folder);
    /// with <paramref name="split"/>, only that split's rows.</summary>
    public async Task WriteManifestAsync(DatasetVersion version, ManifestFormat format, Stream output, CancellationToken cancellationToken, string? split = null)
    {
        ArgumentNullException.ThrowIfNull(version);
        var members = (await catalog.MembersAsync(version.Id, cancellationToken).ConfigureAwait(false))
            .Where(m => split is null || m.Split == split).ToList();
        var rows = members.Select(m => ToRow(version, m, file => artifacts.UriOf(file.Length == 0 ? m.ArtifactKey : ArtifactKeys.Combine(m.ArtifactKey, file)).AbsoluteUri,
            slot => m.FeatureKeys[slot] is { } key ? artifacts.UriOf(key).AbsoluteUri : null));
        await ManifestWriter.WriteAsync(output, format, rows, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>The Pointcept layout under <paramref name="folder"/> (which must not exist or be empty); with
    /// <paramref name="withManifest"/>, also manifest.parquet (URIs relative to the folder) and dataset.json. Written in a
    /// sibling staging folder and moved into place, so a failed export leaves nothing half-written.</summary>
    public async Task<PullResult> WriteFolderAsync(DatasetVersion version, string folder, bool withManifest, IProgress<(int Done, int Total)>? progress,
        CancellationToken cancellationToken, SplitPaths? splitPaths = null)
    {
        ArgumentNullException.ThrowIfNull(version);
        var target = Path.GetFullPath(folder);
        var prefix = (splitPaths ?? SplitPaths.Default).PrefixFor(version.Name, target);
        return await DatasetLayout.WriteStagedAsync(target, async staging =>
        {
            var members = await catalog.MembersAsync(version.Id, cancellationToken).ConfigureAwait(false);
            long bytes = 0;
            var splitEntries = new List<(string, string, SplitEntry)>(members.Count);
            for (var i = 0; i < members.Count; i++)
            {
                cancellationToken.ThrowIfCancellationRequested();
                (var copied, var entry) = await CopySegmentAsync(members[i], staging, prefix, cancellationToken).ConfigureAwait(false);
                bytes += copied;
                splitEntries.Add((members[i].Split, members[i].SegmentKey, entry));
                progress?.Report((i + 1, members.Count));
            }

            await DatasetLayout.WriteSplitsAsync(staging, splitEntries, cancellationToken).ConfigureAwait(false);
            if (withManifest)
            {
                var grid = version.Teacher is { } teacher
                    ? await catalog.TeacherGridAsync(teacher, cancellationToken).ConfigureAwait(false)
                      ?? throw new InvalidOperationException($"dataset {version.Name} version {version.Version} names teacher {teacher}, which is not recorded")
                    : null;
                var rows = members.Select(m => ToRow(version, m, file => LayoutPath(m, file), slot => m.FeatureKeys[slot] is null ? null : FeaturePath(m, slot)));
                await ManifestWriter.WriteAsync(Path.Combine(staging, DatasetLayout.ManifestFile), ManifestFormat.Parquet, rows, cancellationToken).ConfigureAwait(false);
                await DatasetVersionFile.WriteAsync(staging, new
                {
                    name = version.Name,
                    version = version.Version,
                    filter = version.Filter,
                    splits = version.Splits,
                    seed = version.Seed,
                    segments = version.Segments,
                    counts = version.Counts,
                    hash = version.Hash,
                    teacher = version.Teacher,
                    teacherGrid = grid is null ? null : DatasetVersionFile.Describe(grid),
                    createdAt = version.CreatedAt,
                }, cancellationToken).ConfigureAwait(false);
            }

            return new PullResult(target, members.Count, bytes);
        }).ConfigureAwait(false);
    }

    /// <summary>Copies a segment's cloud to &lt;split&gt;/&lt;key&gt;/ and its image side to images/&lt;split&gt;/&lt;key&gt;/;
    /// its split entry names them with <paramref name="prefix"/> in front.</summary>
    private async Task<(long Bytes, SplitEntry Entry)> CopySegmentAsync(DatasetMember member, string root, string prefix, CancellationToken cancellationToken)
    {
        var source = await artifacts.LocalPathAsync(member.ArtifactKey, cancellationToken).ConfigureAwait(false);
        long bytes = 0;
        foreach (var file in Directory.EnumerateFiles(source, "*", SearchOption.AllDirectories))
        {
            var relative = Path.GetRelativePath(source, file).Replace('\\', '/');
            bytes += CopyInto(file, Path.Combine(root, LayoutPath(member, relative)));
        }

        for (var slot = 0; slot < member.FeatureKeys.Count; slot++)
        {
            if (member.FeatureKeys[slot] is { } key)
                bytes += CopyInto(await artifacts.LocalPathAsync(key, cancellationToken).ConfigureAwait(false), Path.Combine(root, FeaturePath(member, slot)));
        }

        var entry = new SplitEntry(prefix + LayoutPath(member, ""), member.Images.Select(i => prefix + LayoutPath(member, i.ImageFile)).ToList(),
            member.Images.Select(i => prefix + LayoutPath(member, SegmentImageFiles.Correspondence(i.Slot))).ToList());
        return (bytes, entry);
    }

    /// <summary>Copies a file, creating its folder; returns its size.</summary>
    private static long CopyInto(string source, string destination)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(destination)!);
        File.Copy(source, destination);
        return new FileInfo(destination).Length;
    }

    /// <summary>Where a file of a segment's folder goes in the layout; "" is the cloud folder itself.</summary>
    private static string LayoutPath(DatasetMember m, string file) => DatasetLayout.PathOf(m.Split, m.SegmentKey, file);

    /// <summary>Teacher features of image <paramref name="slot"/>: float16 [patch tokens, width], beside the image side.</summary>
    private static string FeaturePath(DatasetMember m, int slot) => LayoutPath(m, SegmentImageFiles.Feature(slot));

    /// <summary>A manifest row; <paramref name="featureUri"/> gives image i's feature file or null (then the row lists none).</summary>
    private static ManifestRow ToRow(DatasetVersion version, DatasetMember m, Func<string, string> uri, Func<int, string?> featureUri) => new()
    {
        DatasetName = version.Name,
        DatasetVersion = version.Version,
        SegmentId = m.SegmentId,
        SceneId = m.SegmentKey,
        RunId = m.RunId,
        VideoSha256 = m.VideoSha256,
        SourcePath = m.SourcePath,
        Split = m.Split,
        PointCloudUri = uri(""),
        Points = m.Points,
        ImageUris = m.Images.Select(i => uri(i.ImageFile)).ToList(),
        CorrespondenceUris = m.Images.Select(i => uri(SegmentImageFiles.Correspondence(i.Slot))).ToList(),
        FeatureUris = m.Images.Select((_, slot) => featureUri(slot)).ToList() is var features && features.All(f => f is not null)
            ? features.Select(f => f!).ToList()
            : null,
        CameraToWorld = m.Images.Select(i => i.CameraToWorld).ToList(),
        Intrinsics = m.Images.Select(i => new double[] { i.Fx, i.Fy, i.Cx, i.Cy, i.Width, i.Height }).ToList(),
        FrameIndices = m.Images.Select(i => i.FrameIndex).ToList(),
        Metrics = new Dictionary<string, double>
        {
            ["correspondences"] = m.Correspondences,
            ["covisibility_min"] = m.MinCovisibility,
            ["baseline_min"] = m.MinBaseline,
            ["overlap_max"] = m.MaxOverlap,
            ["coverage_mean"] = m.MeanCoverage,
            ["coverage_min"] = m.MinCoverage,
            ["visible_fraction_mean"] = m.MeanVisibleFraction,
            ["labelled"] = m.Labelled ? 1 : 0,
        },
    };
}
