using Concerto.Ingest.Core.Datasets;
using Concerto.Ingest.Core.Profiles;
using Concerto.Ingest.Formats.Arrays;
using Concerto.Ingest.Formats.Datasets;
using Concerto.Ingest.Formats.Manifests;
using Concerto.Ingest.Train.Data;

namespace Concerto.Ingest.Train.Tests.Data;

public sealed class TrainingDatasetTests : IDisposable
{
    private readonly PulledFolder _folder = new();

    public void Dispose() => _folder.Dispose();

    [Fact]
    public async Task OpenAsync_ListsRowsSplitsAndFeatureWidth_FromAPulledFolder()
    {
        await _folder.WriteManifestAsync();
        var dataset = await TrainingDataset.OpenAsync(_folder.Root, CancellationToken.None);

        Assert.Equal(_folder.ManifestPath, dataset.ManifestPath);
        Assert.Equal(["seg-a", "seg-b", "seg-c"], dataset.Rows.Select(r => r.SceneId));
        Assert.Equal(["train", "val"], dataset.Splits);
        Assert.Equal([0, 1], dataset.ForSplit("train"));
        Assert.Equal([2], dataset.ForSplit("val"));
        Assert.Equal(PulledFolder.FeatureWidth, dataset.FeatureWidth);
        var unknown = Assert.Throws<ArgumentException>(() => dataset.ForSplit("test"));
        Assert.Contains("'train', 'val'", unknown.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Load_ReturnsTheStoredValues_ForEverySegment()
    {
        await _folder.WriteManifestAsync();
        var dataset = await TrainingDataset.OpenAsync(_folder.ManifestPath, CancellationToken.None);
        for (var row = 0; row < _folder.Segments.Count; row++) AssertLoaded(_folder.Segments[row], dataset.Load(row));
    }

    [Fact]
    public async Task Load_ReadsFileUris_FromAnExportedManifestElsewhere()
    {
        using var spaced = new PulledFolder("with space+plus");
        var manifest = Path.Combine(Path.GetDirectoryName(spaced.Root)!, "exports", "tiny-v1.parquet");
        await ManifestWriter.WriteAsync(manifest, ManifestFormat.Parquet, spaced.Rows(relative => new Uri(spaced.PathOf(relative)).AbsoluteUri),
            CancellationToken.None);
        Assert.Contains("%20", (await TrainingDataset.OpenAsync(manifest, CancellationToken.None)).Rows[0].PointCloudUri, StringComparison.Ordinal);

        var dataset = await TrainingDataset.OpenAsync(manifest, CancellationToken.None);
        Assert.Equal(PulledFolder.FeatureWidth, dataset.FeatureWidth);
        for (var row = 0; row < spaced.Segments.Count; row++) AssertLoaded(spaced.Segments[row], dataset.Load(row));
    }

    [Fact]
    public async Task OpenAsync_Throws_WhenThereIsNoReadableManifest()
    {
        var missing = await Assert.ThrowsAsync<FileNotFoundException>(() => TrainingDataset.OpenAsync(_folder.Root, CancellationToken.None));
        Assert.Contains("manifest.parquet", missing.Message, StringComparison.Ordinal);

        await File.WriteAllTextAsync(_folder.ManifestPath, "not parquet at all");
        var bad = await Assert.ThrowsAsync<InvalidDataException>(() => TrainingDataset.OpenAsync(_folder.Root, CancellationToken.None));
        Assert.Contains(_folder.ManifestPath, bad.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Load_NamesTheFileTheSegmentAndTheExpectation_WhenAFileIsMissing()
    {
        await _folder.WriteManifestAsync();
        var dataset = await TrainingDataset.OpenAsync(_folder.Root, CancellationToken.None);
        var normal = _folder.PathOf("train/seg-b/normal.npy");
        File.Delete(normal);

        var error = Assert.Throws<InvalidDataException>(() => dataset.Load(1));
        Assert.Contains(normal, error.Message, StringComparison.Ordinal);
        Assert.Contains("seg-b", error.Message, StringComparison.Ordinal);
        Assert.Contains("missing", error.Message, StringComparison.Ordinal);
        dataset.Load(0); // other segments still load
    }

    [Fact]
    public async Task Load_NamesTheFileAndTheExpectedShape_WhenAShapeIsWrong()
    {
        await _folder.WriteManifestAsync();
        var dataset = await TrainingDataset.OpenAsync(_folder.Root, CancellationToken.None);
        var coord = _folder.PathOf("train/seg-a/coord.npy");
        Npy.Write<float>(coord, new float[10], 5, 2);

        var error = Assert.Throws<InvalidDataException>(() => dataset.Load(0));
        Assert.Contains(coord, error.Message, StringComparison.Ordinal);
        Assert.Contains("seg-a", error.Message, StringComparison.Ordinal);
        Assert.Contains("(5, 2)", error.Message, StringComparison.Ordinal);
        Assert.Contains("float32 with shape (N, 3)", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Load_NamesTheFileAndTheExpectedType_WhenATypeIsWrong()
    {
        await _folder.WriteManifestAsync();
        var dataset = await TrainingDataset.OpenAsync(_folder.Root, CancellationToken.None);
        var color = _folder.PathOf("val/seg-c/color.npy");
        Npy.Write<float>(color, new float[12], 4, 3);

        var error = Assert.Throws<InvalidDataException>(() => dataset.Load(2));
        Assert.Contains(color, error.Message, StringComparison.Ordinal);
        Assert.Contains("seg-c", error.Message, StringComparison.Ordinal);
        Assert.Contains("'<f4'", error.Message, StringComparison.Ordinal);
        Assert.Contains("uint8", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Load_Rejects_FeaturesWithTheWrongTokenCountOrWidth()
    {
        await _folder.WriteManifestAsync();
        var dataset = await TrainingDataset.OpenAsync(_folder.Root, CancellationToken.None);
        var feature = _folder.PathOf("images/train/seg-b/feature/3.npy");

        Npy.Write<Half>(feature, new Half[1368 * PulledFolder.FeatureWidth], 1368, PulledFolder.FeatureWidth);
        var rows = Assert.Throws<InvalidDataException>(() => dataset.Load(1));
        Assert.Contains(feature, rows.Message, StringComparison.Ordinal);
        Assert.Contains("(1369, 8)", rows.Message, StringComparison.Ordinal);

        Npy.Write<Half>(feature, new Half[1369 * 4], 1369, 4);
        var width = Assert.Throws<InvalidDataException>(() => dataset.Load(1));
        Assert.Contains("(1369, 4)", width.Message, StringComparison.Ordinal);
    }

    /// <summary>The grid comes from dataset.json's teacherGrid: features of another grid are refused naming the file,
    /// the token counts and where the grid came from; features on the recorded grid load, and every image carries it.</summary>
    [Fact]
    public async Task OpenAsync_TakesTheTeacherGridFromDatasetJson_AndRefusesFeaturesOfAnotherGrid()
    {
        await _folder.WriteManifestAsync();
        Assert.Equal(TeacherGrid.Dinov2, (await TrainingDataset.OpenAsync(_folder.Root, CancellationToken.None)).TeacherGrid);

        var description = Path.Combine(_folder.Root, DatasetVersionFile.FileName);
        await File.WriteAllTextAsync(description, """{ "name": "d", "teacherGrid": { "rows": 2, "columns": 3, "patchSize": 16 } }""");
        var error = await Assert.ThrowsAsync<InvalidDataException>(() => TrainingDataset.OpenAsync(_folder.Root, CancellationToken.None));
        Assert.Contains(_folder.PathOf("images/train/seg-a/feature/0.npy"), error.Message, StringComparison.Ordinal);
        Assert.Contains("(1369, 8)", error.Message, StringComparison.Ordinal);
        Assert.Contains("6 tokens for the teacher grid 2 x 3 patches of 16 px", error.Message, StringComparison.Ordinal);
        Assert.Contains(description, error.Message, StringComparison.Ordinal);

        foreach (var feature in Directory.EnumerateFiles(_folder.Root, "*.npy", SearchOption.AllDirectories).Where(f => f.Contains("feature", StringComparison.Ordinal)))
            Npy.Write<Half>(feature, new Half[6 * PulledFolder.FeatureWidth], 6, PulledFolder.FeatureWidth);
        var dataset = await TrainingDataset.OpenAsync(_folder.Root, CancellationToken.None);
        Assert.Equal(new TeacherGrid(2, 3, 16), dataset.TeacherGrid);
        Assert.All(dataset.Load(0).Images, image => Assert.Equal(new TeacherGrid(2, 3, 16), image.PatchGrid));

        await File.WriteAllTextAsync(description, """{ "teacherGrid": { "rows": 2 } }""");
        error = await Assert.ThrowsAsync<InvalidDataException>(() => TrainingDataset.OpenAsync(_folder.Root, CancellationToken.None));
        Assert.Contains(description, error.Message, StringComparison.Ordinal);
        Assert.Contains("teacherGrid", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Load_Rejects_CorrespondencesNamingPointsOutsideTheCloud()
    {
        await _folder.WriteManifestAsync();
        var dataset = await TrainingDataset.OpenAsync(_folder.Root, CancellationToken.None);
        var correspondence = _folder.PathOf("images/val/seg-c/correspondence/1.npy");
        Npy.Write<float>(correspondence, [1, 2, 4], 1, 3);

        var error = Assert.Throws<InvalidDataException>(() => dataset.Load(2));
        Assert.Contains(correspondence, error.Message, StringComparison.Ordinal);
        Assert.Contains("[0, 4)", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Load_Rejects_ACloudWhosePointCountDiffersFromTheManifest()
    {
        await _folder.WriteManifestAsync();
        var dataset = await TrainingDataset.OpenAsync(_folder.Root, CancellationToken.None);
        Npy.Write<float>(_folder.PathOf("train/seg-b/coord.npy"), new float[12], 4, 3);

        var error = Assert.Throws<InvalidDataException>(() => dataset.Load(1));
        Assert.Contains("4 points, the manifest says 3", error.Message, StringComparison.Ordinal);
    }

    private static void AssertLoaded(PulledFolder.SegmentSpec spec, PointSample sample)
    {
        var s = spec.Id;
        var n = spec.Points;
        Assert.Equal(spec.Key, sample.Key);
        Assert.Equal(n, sample.Count);
        Assert.Equal(Enumerable.Range(0, n), sample.SourceIndex);
        for (var p = 0; p < n; p++)
        for (var a = 0; a < 3; a++)
        {
            Assert.Equal(PulledFolder.Coord(s, p, a), sample.Coord[3 * p + a]);
            Assert.Equal(PulledFolder.Color(s, p, a), sample.Color[3 * p + a]);
            Assert.Equal(PulledFolder.Normal(s, p, a), sample.Normal[3 * p + a]);
        }

        if (spec.Labels == PulledFolder.LabelKind.None) Assert.Null(sample.Segment);
        else Assert.Equal(Enumerable.Range(0, n).Select(p => PulledFolder.Label(s, p)), sample.Segment!);

        Assert.Equal(4, sample.Images.Count);
        for (var i = 0; i < 4; i++)
        {
            var image = sample.Images[i];
            Assert.Equal(PulledFolder.Size(i), (image.Width, image.Height));
            Assert.Equal(PulledFolder.Correspondence(spec, i), image.Correspondence);
            if (i == 2) Assert.Empty(image.Correspondence); // the [[-1, -1, -1]] sentinel
            if (!spec.Features)
            {
                Assert.Null(image.Feature);
                Assert.Equal(0, image.FeatureWidth);
                continue;
            }

            Assert.Equal(PulledFolder.FeatureWidth, image.FeatureWidth);
            Assert.Equal(PulledFolder.Patches * PulledFolder.FeatureWidth, image.Feature!.Length);
            Assert.Equal(PulledFolder.Feature(s, i, 0, 1), image.Feature[1]);
            Assert.Equal(PulledFolder.Feature(s, i, 1368, 7), image.Feature[^1]);
            Assert.Equal(PulledFolder.Feature(s, i, 600, 3), image.Feature[600 * PulledFolder.FeatureWidth + 3]);
        }
    }
}
