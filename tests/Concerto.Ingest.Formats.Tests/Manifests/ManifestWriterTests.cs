using Concerto.Ingest.Formats.Manifests;
using static Concerto.Ingest.Formats.Tests.Manifests.ManifestSamples;

namespace Concerto.Ingest.Formats.Tests.Manifests;

public sealed class ManifestWriterTests : IDisposable
{
    private readonly string _folder = Path.Combine(Path.GetTempPath(), "concerto-manifest-tests-" + Guid.NewGuid().ToString("N"));

    public void Dispose()
    {
        if (Directory.Exists(_folder)) Directory.Delete(_folder, recursive: true);
    }

    [Theory]
    [InlineData(ManifestFormat.Parquet)]
    [InlineData(ManifestFormat.Jsonl)]
    public async Task WriteAsync_Path_WritesSameBytesAsStream_AndLeavesNoTemporaryFile(ManifestFormat format)
    {
        var path = Path.Combine(_folder, "nested", "manifest.out");
        using var expected = new MemoryStream();
        await ManifestWriter.WriteAsync(expected, format, Mixed());

        await ManifestWriter.WriteAsync(path, format, Mixed());

        Assert.Equal(expected.ToArray(), await File.ReadAllBytesAsync(path));
        Assert.Equal([path], Directory.GetFiles(Path.GetDirectoryName(path)!));
    }

    [Fact]
    public async Task WriteAsync_Path_ReplacesExistingManifest()
    {
        var path = Path.Combine(_folder, "manifest.parquet");
        await ManifestWriter.WriteAsync(path, ManifestFormat.Parquet, Mixed());

        await ManifestWriter.WriteAsync(path, ManifestFormat.Parquet, [Row(99)]);

        await using var file = File.OpenRead(path);
        Assert.Equal(99, Assert.Single(await ManifestReader.ReadParquetAsync(file)).SegmentId);
    }

    [Theory]
    [InlineData(ManifestFormat.Parquet)]
    [InlineData(ManifestFormat.Jsonl)]
    public async Task WriteAsync_Path_KeepsOldFileAndRemovesTemporary_WhenARowIsInvalid(ManifestFormat format)
    {
        var path = Path.Combine(_folder, "manifest.out");
        await ManifestWriter.WriteAsync(path, format, Mixed());
        var before = await File.ReadAllBytesAsync(path);
        var bad = Row(6) with { FrameIndices = [1, 2] };

        await Assert.ThrowsAsync<ArgumentException>(() => ManifestWriter.WriteAsync(path, format, [.. Mixed(), bad]));

        Assert.Equal(before, await File.ReadAllBytesAsync(path));
        Assert.Equal([path], Directory.GetFiles(_folder));
    }

    public static TheoryData<string, Func<ManifestRow, ManifestRow>> InvalidRows => new()
    {
        { "ImageUris must hold 1 to 4", r => r with { ImageUris = [] } },
        { "ImageUris must hold 1 to 4", r => Row(1, images: 5) },
        { "CorrespondenceUris has 3 entries", r => r with { CorrespondenceUris = ["a", "b", "c"] } },
        { "FeatureUris has 1 entries", r => r with { FeatureUris = ["a"] } },
        { "CameraToWorld[2] must hold 16 values", r => r with { CameraToWorld = [Pose(1, 0), Pose(1, 1), new double[12], Pose(1, 3)] } },
        { "Intrinsics[0] must hold 6 values", r => r with { Intrinsics = [new double[4], new double[6], new double[6], new double[6]] } },
        { "CameraToWorld[1] holds NaN", r => r with { CameraToWorld = [Pose(1, 0), [.. Pose(1, 1)[..15], double.NaN], Pose(1, 2), Pose(1, 3)] } },
        { "FrameIndices has 3 entries", r => r with { FrameIndices = [1, 2, 3] } },
        { "metric key 'coverage.min'", r => r with { Metrics = new Dictionary<string, double> { ["coverage.min"] = 1 } } },
        { "metric 'coverage_min' is Infinity", r => r with { Metrics = new Dictionary<string, double> { ["coverage_min"] = double.PositiveInfinity } } },
        { "SceneId is null", r => r with { SceneId = null! } },
    };

    [Theory]
    [MemberData(nameof(InvalidRows))]
    public async Task WriteAsync_ThrowsNamingRowAndField_WhenRowIsInconsistent(string message, Func<ManifestRow, ManifestRow> spoil)
    {
        ManifestRow[] rows = [Row(0), spoil(Row(1))];

        foreach (var format in new[] { ManifestFormat.Parquet, ManifestFormat.Jsonl })
        {
            using var stream = new MemoryStream();
            var error = await Assert.ThrowsAsync<ArgumentException>(() => ManifestWriter.WriteAsync(stream, format, rows));
            Assert.Contains("manifest row 1 (segment 1)", error.Message, StringComparison.Ordinal);
            Assert.Contains(message, error.Message, StringComparison.Ordinal);
        }
    }

    [Theory]
    [InlineData(ManifestFormat.Parquet)]
    [InlineData(ManifestFormat.Jsonl)]
    public async Task WriteAsync_Throws_WhenCancelled(ManifestFormat format)
    {
        using var stream = new MemoryStream();
        using var cancelled = new CancellationTokenSource();
        await cancelled.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => ManifestWriter.WriteAsync(stream, format, Mixed(), cancelled.Token));
    }
}
