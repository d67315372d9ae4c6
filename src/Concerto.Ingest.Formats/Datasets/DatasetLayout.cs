using System.Text.Json;
using System.Text.Json.Serialization;

namespace Concerto.Ingest.Formats.Datasets;

/// <summary>An entry of <c>splits/&lt;split&gt;.json</c>, the keys Pointcept's <c>DefaultImagePointDataset</c> reads.</summary>
public sealed record SplitEntry(
    [property: JsonPropertyName("pointclouds")] string PointClouds,
    [property: JsonPropertyName("images")] IReadOnlyList<string> Images,
    [property: JsonPropertyName("correspondences")] IReadOnlyList<string> Correspondences);

/// <summary>The dataset folder a trainer reads (what <c>concerto dataset pull</c>, <c>dataset export --layout</c> and
/// <c>concerto synth --training</c> write): each segment's cloud under <c>&lt;split&gt;/&lt;key&gt;/</c>, its image side
/// under <c>images/&lt;split&gt;/&lt;key&gt;/</c>, <c>splits/&lt;split&gt;.json</c>, and for a trainer
/// <see cref="ManifestFile"/> (paths relative to the folder) and <see cref="VersionFile"/>.</summary>
public static class DatasetLayout
{
    public const string ManifestFile = "manifest.parquet";
    public const string VersionFile = DatasetVersionFile.FileName;
    public const string SplitsFolder = "splits";

    /// <summary>Options for the folder's JSON files (indented, '\n', camelCase).</summary>
    public static JsonSerializerOptions Json { get; } = new() { WriteIndented = true, NewLine = "\n", PropertyNamingPolicy = JsonNamingPolicy.CamelCase };

    public static string CloudFolder(string split, string key) => $"{split}/{key}";

    public static string ImageSide(string split, string key) => $"images/{split}/{key}";

    /// <summary>Where file <paramref name="relative"/> of a segment's folder goes (image-side folders under images/,
    /// the rest with the cloud; "" is the cloud folder itself).</summary>
    public static string PathOf(string split, string key, string relative)
    {
        ArgumentNullException.ThrowIfNull(relative);
        return relative.Length == 0 ? CloudFolder(split, key)
            : SegmentImageFiles.IsImageSide(relative) ? $"{ImageSide(split, key)}/{relative}"
            : $"{CloudFolder(split, key)}/{relative}";
    }

    /// <summary>Writes <c>splits/&lt;split&gt;.json</c> for each split, entries by key in ordinal order.</summary>
    public static async Task WriteSplitsAsync(string root, IEnumerable<(string Split, string Key, SplitEntry Entry)> entries, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(entries);
        Directory.CreateDirectory(Path.Combine(root, SplitsFolder));
        foreach (var split in entries.GroupBy(e => e.Split, StringComparer.Ordinal))
        {
            var sorted = new SortedDictionary<string, SplitEntry>(split.ToDictionary(e => e.Key, e => e.Entry, StringComparer.Ordinal), StringComparer.Ordinal);
            await File.WriteAllTextAsync(Path.Combine(root, SplitsFolder, split.Key + ".json"), JsonSerializer.Serialize(sorted, Json), cancellationToken)
                .ConfigureAwait(false);
        }
    }

    /// <summary>Writes a new dataset folder at <paramref name="folder"/> (which must not exist or must be empty) through
    /// <paramref name="write"/>, which fills a sibling staging folder; the staging folder is moved into place only when
    /// it returns, so a failed or cancelled write leaves nothing behind.</summary>
    /// <exception cref="IOException">The folder exists and is not empty.</exception>
    public static async Task<T> WriteStagedAsync<T>(string folder, Func<string, Task<T>> write)
    {
        ArgumentNullException.ThrowIfNull(write);
        var target = Path.GetFullPath(folder);
        if (File.Exists(target) || (Directory.Exists(target) && Directory.EnumerateFileSystemEntries(target).Any()))
            throw new IOException($"{target} already exists and is not empty; choose a new folder or remove it first.");
        var parent = Path.GetDirectoryName(target)!;
        Directory.CreateDirectory(parent);
        var staging = Path.Combine(parent, $".{Path.GetFileName(target)}.partial-{Guid.NewGuid():N}");
        try
        {
            Directory.CreateDirectory(staging);
            var result = await write(staging).ConfigureAwait(false);
            if (Directory.Exists(target)) Directory.Delete(target); // empty, checked above
            Directory.Move(staging, target);
            return result;
        }
        finally
        {
            if (Directory.Exists(staging)) Directory.Delete(staging, recursive: true);
        }
    }
}
