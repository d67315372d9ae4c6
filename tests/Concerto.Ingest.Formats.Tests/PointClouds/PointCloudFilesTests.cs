using System.Globalization;
using Concerto.Ingest.Formats.Arrays;
using Concerto.Ingest.Formats.PointClouds;
using Concerto.Ingest.TestSupport;

namespace Concerto.Ingest.Formats.Tests.PointClouds;

public sealed class PointCloudFilesTests : IDisposable
{
    private readonly string _folder = Path.Combine(Path.GetTempPath(), $"concerto-cloud-{Guid.NewGuid():N}");

    public void Dispose()
    {
        if (Directory.Exists(_folder)) Directory.Delete(_folder, recursive: true);
    }

    private static PointCloudArrays Sample(int n, bool labels)
    {
        var random = new Random(n);
        return new PointCloudArrays(
            Enumerable.Range(0, 3 * n).Select(_ => (float)random.NextDouble() * 4 - 2).ToArray(),
            Enumerable.Range(0, 3 * n).Select(_ => (byte)random.Next(256)).ToArray(),
            Enumerable.Range(0, 3 * n).Select(_ => (float)random.NextDouble()).ToArray(),
            labels ? Enumerable.Range(0, n).Select(_ => random.Next(20)).ToArray() : null,
            labels ? Enumerable.Range(0, n).Select(_ => random.Next(-1, 50)).ToArray() : null);
    }

    [Fact]
    public void Read_ReturnsWhatWriteWrote_WithAndWithoutLabels()
    {
        foreach (var labels in new[] { true, false })
        {
            var cloud = Sample(37, labels);
            var folder = Path.Combine(_folder, labels.ToString());
            PointCloudFiles.Write(folder, cloud);
            var read = PointCloudFiles.Read(folder);
            Assert.Equal(cloud.Coord, read.Coord);
            Assert.Equal(cloud.Color, read.Color);
            Assert.Equal(cloud.Normal, read.Normal);
            Assert.Equal(cloud.Segment, read.Segment);
            Assert.Equal(cloud.Instance, read.Instance);
            Assert.Equal(labels, File.Exists(Path.Combine(folder, PointCloudFiles.SegmentFile)));
        }
    }

    [Fact]
    public void Select_KeepsEveryArrayOfThePickedPoints_InOrder()
    {
        var cloud = Sample(10, labels: true);
        var picked = cloud.Select([7, 2, 2]);
        Assert.Equal(3, picked.Count);
        Assert.Equal(cloud.Coord.AsSpan(21, 3).ToArray(), picked.Coord.AsSpan(0, 3).ToArray());
        Assert.Equal(cloud.Color.AsSpan(6, 3).ToArray(), picked.Color.AsSpan(3, 3).ToArray());
        Assert.Equal(cloud.Normal.AsSpan(6, 3).ToArray(), picked.Normal.AsSpan(6, 3).ToArray());
        Assert.Equal([cloud.Segment![7], cloud.Segment[2], cloud.Segment[2]], picked.Segment!);
        Assert.Equal([cloud.Instance![7], cloud.Instance[2], cloud.Instance[2]], picked.Instance!);
    }

    [Fact]
    public async Task Write_GivesArraysNumpyLoadsWithPointceptsTypesAndShapes()
    {
        var cloud = Sample(5, labels: true);
        PointCloudFiles.Write(_folder, cloud);
        const string script = """
            import sys, numpy as np
            for name in ["coord", "color", "normal", "segment", "instance"]:
                a = np.load(f"{sys.argv[1]}/{name}.npy")
                print(name, a.dtype, a.shape, a.reshape(-1)[0])
            """;
        var lines = (await DebianPython.RunAsync(script, [_folder], _folder)).Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.StartsWith("coord float32 (5, 3) ", lines[0], StringComparison.Ordinal);
        Assert.Equal(cloud.Coord[0], float.Parse(lines[0].Split(' ')[^1], CultureInfo.InvariantCulture), 5);
        Assert.Equal($"color uint8 (5, 3) {cloud.Color[0]}", lines[1]);
        Assert.StartsWith("normal float32 (5, 3) ", lines[2], StringComparison.Ordinal);
        Assert.Equal($"segment int32 (5,) {cloud.Segment![0]}", lines[3]);
        Assert.Equal($"instance int32 (5,) {cloud.Instance![0]}", lines[4]);
    }

    [Fact]
    public void Read_TakesInt64Labels_AsPointceptsPreprocessingWritesThem()
    {
        PointCloudFiles.Write(_folder, Sample(4, labels: false));
        Npy.Write<long>(Path.Combine(_folder, PointCloudFiles.SegmentFile), [3L, 0L, -1L, 12L], 4);
        Assert.Equal([3, 0, -1, 12], PointCloudFiles.Read(_folder).Segment!);
    }

    [Fact]
    public void Read_NamesTheFileAndWhatWasExpected_WhenAnArrayDisagreesWithCoord()
    {
        PointCloudFiles.Write(_folder, Sample(6, labels: false));
        var color = Path.Combine(_folder, PointCloudFiles.ColorFile);
        Npy.Write<byte>(color, new byte[15], 5, 3);
        var error = Assert.Throws<InvalidDataException>(() => PointCloudFiles.Read(_folder));
        Assert.Contains(color, error.Message, StringComparison.Ordinal);
        Assert.Contains("(5, 3)", error.Message, StringComparison.Ordinal);
        Assert.Contains("(6, 3) like coord.npy", error.Message, StringComparison.Ordinal);

        File.Delete(Path.Combine(_folder, PointCloudFiles.NormalFile));
        Npy.Write<byte>(color, new byte[18], 6, 3);
        var missing = Assert.Throws<InvalidDataException>(() => PointCloudFiles.Read(_folder));
        Assert.Contains("normal.npy is missing", missing.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ReadCoord_RefusesNonFiniteCoordinates_NamingTheRow()
    {
        var cloud = Sample(3, labels: false);
        cloud.Coord[7] = float.NaN;
        PointCloudFiles.Write(_folder, cloud);
        var error = Assert.Throws<InvalidDataException>(() => PointCloudFiles.ReadCoord(_folder));
        Assert.Contains("non-finite value (NaN) at row 2", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Write_RefusesArraysOfDifferentSizes()
    {
        var cloud = Sample(3, labels: true) with { Segment = [1, 2] };
        Assert.Throws<ArgumentException>(() => PointCloudFiles.Write(_folder, cloud));
        Assert.False(Directory.Exists(_folder));
    }
}
