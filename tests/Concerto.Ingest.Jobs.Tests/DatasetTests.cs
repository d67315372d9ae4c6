using Concerto.Ingest.Core.Datasets;
using Concerto.Ingest.Core.Datasets.Filter;
using Concerto.Ingest.Formats.Arrays;
using Concerto.Ingest.Formats.Datasets;
using Concerto.Ingest.Formats.Manifests;
using Concerto.Ingest.Jobs.Datasets;
using Concerto.Ingest.Media.Ffmpeg;
using Concerto.Ingest.Storage.Artifacts;
using Concerto.Ingest.Storage.Catalog;
using Concerto.Ingest.Synthetic.Capture;
using Concerto.Ingest.TestSupport;

namespace Concerto.Ingest.Jobs.Tests;

/// <summary>Dataset versions over segments made by the real pipeline: immutable whatever ingestion does next, exports
/// byte-identical, bad filters rejected before anything is written.</summary>
public sealed class DatasetTests : PipelineTestBase
{
    private static readonly IReadOnlyList<DatasetSplit> Halves = DatasetSplits.Parse("train=0.5,val=0.5");
    private readonly List<string> _captures = [];

    private DatasetCatalog Catalog => new(Db.DataSource);
    private DatasetExporter Exporter => new(Catalog, new FolderArtifactStore(Artifacts));

    [Fact]
    public async Task AVersion_NeverChanges_WhileIngestionAddsAndReplacesSegments_AndExportsAreByteIdentical()
    {
        var first = await CaptureAsync(seed: 6);
        Assert.True(Assert.Single(await IngestAsync(Profile, false, first)).Succeeded);
        var v1 = await Catalog.CreateAsync("rooms", "points >= 1000 and labelled", Halves, seed: 3, CancellationToken.None);
        Assert.Equal(1, v1.Version);
        Assert.True(v1.Segments >= 2, $"{v1.Segments} segments");
        var parquet = await ManifestBytesAsync(v1, ManifestFormat.Parquet);
        var jsonl = await ManifestBytesAsync(v1, ManifestFormat.Jsonl);
        Assert.Equal(parquet, await ManifestBytesAsync(v1, ManifestFormat.Parquet));
        Assert.Equal(jsonl, await ManifestBytesAsync(v1, ManifestFormat.Jsonl));

        // Versions made while another video is being ingested, then after it, and after a forced re-run that
        // replaces the first video's segments.
        var second = await CaptureAsync(seed: 7);
        var ingesting = IngestAsync(Profile, false, second);
        var during = new List<DatasetVersion>();
        while (!ingesting.IsCompleted)
        {
            during.Add(await Catalog.CreateAsync("rooms", null, Halves, seed: 3, CancellationToken.None));
            await Task.Delay(200);
        }

        Assert.True(Assert.Single(await ingesting).Succeeded);
        var after = await Catalog.CreateAsync("rooms", null, Halves, seed: 3, CancellationToken.None);
        Assert.True(after.Segments > v1.Segments, $"{after.Segments} segments after the second video, {v1.Segments} before");
        Assert.True(Assert.Single(await IngestAsync(Profile, true, first)).Succeeded);

        var again = await Catalog.GetAsync("rooms", 1, CancellationToken.None);
        Assert.Equal((v1.Hash, v1.Segments, v1.Filter, v1.CreatedAt), (again.Hash, again.Segments, again.Filter, again.CreatedAt));
        Assert.Equal(parquet, await ManifestBytesAsync(v1, ManifestFormat.Parquet));
        Assert.Equal(jsonl, await ManifestBytesAsync(v1, ManifestFormat.Jsonl));
        var rows = await ManifestReader.ReadParquetAsync(new MemoryStream(parquet));
        Assert.All(rows, r => Assert.True(File.Exists(new Uri(r.ImageUris[0]).LocalPath), "a version's files outlive the re-run that retired its segments"));
        // Versions made during ingestion are consistent snapshots: their counts match their members.
        foreach (var v in during.Append(after))
            Assert.Equal(v.Segments, (await Catalog.MembersAsync(v.Id, CancellationToken.None)).Count);

        // A segment keeps its split in every version made with the same seed and fractions.
        var latest = await Catalog.CreateAsync("rooms", null, Halves, seed: 3, CancellationToken.None);
        var splitOf = (await Catalog.MembersAsync(after.Id, CancellationToken.None)).ToDictionary(m => m.SegmentKey, m => m.Split);
        Assert.All(await Catalog.MembersAsync(latest.Id, CancellationToken.None), m => Assert.Equal(splitOf[m.SegmentKey], m.Split));
        Assert.Equal(after.Hash, latest.Hash);
        Assert.Contains(splitOf.Values, s => s == "train");
        Assert.Contains(splitOf.Values, s => s == "val");
    }

    [Fact]
    public async Task Pull_WritesThePointceptLayout_AndAManifestWhoseFilesExist()
    {
        Assert.True(Assert.Single(await IngestAsync(Profile, false, await CaptureAsync(seed: 6))).Succeeded);
        var version = await Catalog.CreateAsync("pull-me", null, Halves, seed: 0, CancellationToken.None);
        var folder = Path.Combine(Artifacts, "pulled");
        var result = await Exporter.WriteFolderAsync(version, folder, withManifest: true, null, CancellationToken.None);
        Assert.Equal(version.Segments, result.Segments);

        var rows = await ManifestReader.ReadParquetAsync(File.OpenRead(Path.Combine(folder, DatasetLayout.ManifestFile)));
        Assert.Equal(version.Segments, rows.Count);
        foreach (var row in rows)
        {
            var (coord, shape) = Npy.Read<float>(Path.Combine(folder, row.PointCloudUri, "coord.npy"));
            Assert.Equal([row.Points, 3], shape);
            Assert.Equal(row.Points, Npy.Read<int>(Path.Combine(folder, row.PointCloudUri, "segment.npy")).Shape[0]);
            Assert.Equal($"{row.Split}/{row.SceneId}", row.PointCloudUri);
            Assert.Equal(4, row.ImageUris.Count);
            for (var i = 0; i < 4; i++)
            {
                Assert.Equal($"images/{row.Split}/{row.SceneId}/color/{i}.jpg", row.ImageUris[i]);
                var (pairs, pairShape) = Npy.Read<float>(Path.Combine(folder, row.CorrespondenceUris[i]));
                Assert.Equal(3, pairShape[1]);
                Assert.All(Enumerable.Range(0, pairShape[0]), r => Assert.InRange(pairs[3 * r + 2], 0, coord.Length / 3 - 1));
                var pose = Npy.Read<float>(Path.Combine(folder, "images", row.Split, row.SceneId, "pose", $"{i}.npy")).Data;
                Assert.Equal(row.CameraToWorld[i].Select(v => (float)v), pose);
            }
        }

        foreach (var split in rows.Select(r => r.Split).Distinct())
        {
            var entries = System.Text.Json.JsonDocument.Parse(File.ReadAllText(Path.Combine(folder, "splits", split + ".json"))).RootElement;
            foreach (var row in rows.Where(r => r.Split == split))
            {
                // Split paths carry the prefix Pointcept's loader needs (data/<dataset>), the manifest's stay folder-relative.
                var entry = entries.GetProperty(row.SceneId);
                Assert.Equal("data/pull-me/" + row.PointCloudUri, entry.GetProperty("pointclouds").GetString());
                Assert.Equal(row.ImageUris.Select(u => "data/pull-me/" + u), entry.GetProperty("images").EnumerateArray().Select(e => e.GetString()!));
                Assert.Equal(row.CorrespondenceUris.Select(u => "data/pull-me/" + u), entry.GetProperty("correspondences").EnumerateArray().Select(e => e.GetString()!));
            }
        }

        await Assert.ThrowsAsync<IOException>(() => Exporter.WriteFolderAsync(version, folder, withManifest: true, null, CancellationToken.None));
    }

    /// <summary>An export placed at data/NAME under a scratch root (as in a Pointcept checkout) is read sample by sample
    /// exactly as Pointcept's DefaultImagePointDataset.get_data reads it (Python/pointcept_get_data.py, Debian's numpy
    /// and PIL), from that root; so is one with absolute paths, from anywhere; a prefix with '..' is refused.</summary>
    [Fact]
    public async Task PointceptExport_IsReadByPointceptsLoader_FromTheCheckoutRoot()
    {
        Assert.True(Assert.Single(await IngestAsync(Profile, false, await CaptureAsync(seed: 6))).Succeeded);
        var version = await Catalog.CreateAsync("rooms-py", null, Halves, seed: 0, CancellationToken.None);
        var members = await Catalog.MembersAsync(version.Id, CancellationToken.None);
        var checkout = Path.Combine(Artifacts, "pointcept-checkout");
        var folder = Path.Combine(checkout, "data", "rooms-py");
        await Exporter.WriteFolderAsync(version, folder, withManifest: false, null, CancellationToken.None);
        var script = await File.ReadAllTextAsync(Path.Combine(AppContext.BaseDirectory, "Python", "pointcept_get_data.py"));

        var summary = System.Text.Json.JsonDocument.Parse(await DebianPython.RunAsync(script, ["data/rooms-py", "518", "518", "14"], checkout)).RootElement;
        Assert.Equal(version.Segments, summary.GetProperty("samples").GetInt32());
        Assert.Equal(members.Sum(m => m.Points), summary.GetProperty("points").GetInt64());
        Assert.Equal(members.Sum(m => m.Images.Count), summary.GetProperty("images").GetInt32());
        Assert.True(summary.GetProperty("corresponded_points").GetInt64() > members.Sum(m => m.Points) / 4, summary.ToString());
        Assert.True(summary.GetProperty("labelled_points").GetInt64() > 0, summary.ToString());

        // Pointcept's default crop (630 x 1120, 45 x 80 patches) reads it too; absolute paths work from any directory.
        summary = System.Text.Json.JsonDocument.Parse(await DebianPython.RunAsync(script, ["data/rooms-py", "630", "1120", "14"], checkout)).RootElement;
        Assert.Equal(version.Segments, summary.GetProperty("samples").GetInt32());
        var absolute = Path.Combine(Artifacts, "anywhere", "rooms-abs");
        await Exporter.WriteFolderAsync(version, absolute, withManifest: false, null, CancellationToken.None, new SplitPaths(Absolute: true));
        summary = System.Text.Json.JsonDocument.Parse(await DebianPython.RunAsync(script, [absolute, "518", "518", "14"], Path.GetTempPath())).RootElement;
        Assert.Equal(version.Segments, summary.GetProperty("samples").GetInt32());

        var error = await Assert.ThrowsAsync<ArgumentException>(() =>
            Exporter.WriteFolderAsync(version, Path.Combine(Artifacts, "bad"), withManifest: false, null, CancellationToken.None, new SplitPaths("../up")));
        Assert.Contains("..", error.Message, StringComparison.Ordinal);
        Assert.False(Directory.Exists(Path.Combine(Artifacts, "bad")));
    }

    [Fact]
    public async Task ABadFilter_PointsAtTheToken_AndNothingIsCreated()
    {
        Assert.True(Assert.Single(await IngestAsync(Profile, false, await CaptureAsync(seed: 6))).Succeeded);
        var error = await Assert.ThrowsAsync<FilterException>(() =>
            Catalog.CreateAsync("bad", "points > 100 and coverge > 0.5", Halves, 0, CancellationToken.None));
        Assert.Equal(17, error.Position);
        Assert.Contains("did you mean 'coverage'", error.Message, StringComparison.Ordinal);
        Assert.Contains("                 ^^^^^^^", error.Message, StringComparison.Ordinal);

        await Assert.ThrowsAsync<FilterException>(() => Catalog.CreateAsync("bad", "points > 'many'", Halves, 0, CancellationToken.None));
        var none = await Assert.ThrowsAsync<InvalidOperationException>(() =>
            Catalog.CreateAsync("bad", "source.path like '%nowhere%'", Halves, 0, CancellationToken.None));
        Assert.Contains("nothing was created", none.Message, StringComparison.Ordinal);
        // An injection attempt is a string literal, nothing more.
        await Assert.ThrowsAsync<InvalidOperationException>(() =>
            Catalog.CreateAsync("bad", "source.codec = 'h264''; DROP TABLE segments; --'", Halves, 0, CancellationToken.None));

        Assert.Equal(0, await Db.CountAsync("SELECT count(*) FROM dataset_versions"));
        Assert.Equal(0, await Db.CountAsync("SELECT count(*) FROM dataset_members"));
        Assert.True(await Db.CountAsync("SELECT count(*) FROM segments") > 0);
    }

    private async Task<byte[]> ManifestBytesAsync(DatasetVersion version, ManifestFormat format)
    {
        using var buffer = new MemoryStream();
        await Exporter.WriteManifestAsync(version, format, buffer, CancellationToken.None);
        return buffer.ToArray();
    }

    private async Task<string> CaptureAsync(int seed)
    {
        var folder = Directory.CreateTempSubdirectory("concerto-dataset-").FullName;
        _captures.Add(folder);
        await new SyntheticCaptureWriter(FfmpegTools.Locate()).WriteAsync(
            new SynthSettings(Seed: seed, Frames: 150, Width: 320, Height: 240, Fps: 10, Points: 1000), folder, null, CancellationToken.None);
        return Path.Combine(folder, SyntheticCaptureWriter.VideoFile);
    }

    public override async Task DisposeAsync()
    {
        await base.DisposeAsync();
        foreach (var folder in _captures) Directory.Delete(folder, recursive: true);
    }
}
