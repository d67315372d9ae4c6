using System.Text;
using System.Text.Json;
using Concerto.Ingest.Formats.Manifests;
using static Concerto.Ingest.Formats.Tests.Manifests.ManifestSamples;

namespace Concerto.Ingest.Formats.Tests.Manifests;

public class JsonlManifestTests
{
    private static readonly string[] PropertyOrder =
    [
        "datasetName", "datasetVersion", "segmentId", "sceneId", "runId", "videoSha256", "sourcePath", "split",
        "pointCloudUri", "points", "imageUris", "correspondenceUris", "featureUris", "cameraToWorld", "intrinsics",
        "frameIndices", "metrics",
    ];

    private static async Task<byte[]> WriteAsync(IEnumerable<ManifestRow> rows)
    {
        using var stream = new MemoryStream();
        await ManifestWriter.WriteAsync(stream, ManifestFormat.Jsonl, rows);
        return stream.ToArray();
    }

    [Fact]
    public async Task WriteAsync_WritesExactLine_ForKnownRow()
    {
        var row = new ManifestRow
        {
            DatasetName = "ds",
            DatasetVersion = 2,
            SegmentId = 7,
            SceneId = "run42",
            RunId = 42,
            VideoSha256 = "abc",
            SourcePath = "/v/a+b é.mp4",
            Split = "train",
            PointCloudUri = "pc.npy",
            Points = 10,
            ImageUris = ["i0"],
            CorrespondenceUris = ["c0"],
            CameraToWorld = [[1, 0, 0, 0.1, 0, 1, 0, -2.5, 0, 0, 1, 1e-7, 0, 0, 0, 1]],
            Intrinsics = [[500.5, 500, 259.5, 194.5, 518, 388]],
            FrameIndices = [3],
            Metrics = new Dictionary<string, double> { ["overlap_max"] = 0.1 + 0.2, ["coverage_min"] = 1.0 / 3 },
        };

        var bytes = await WriteAsync([row]);

        // One line in the file; split here for reading.
        var expected = """
            {"datasetName":"ds","datasetVersion":2,"segmentId":7,"sceneId":"run42","runId":42,"videoSha256":"abc",
            "sourcePath":"/v/a+b é.mp4","split":"train","pointCloudUri":"pc.npy","points":10,"imageUris":["i0"],
            "correspondenceUris":["c0"],"featureUris":null,"cameraToWorld":[[1,0,0,0.1,0,1,0,-2.5,0,0,1,1E-07,0,0,0,1]],
            "intrinsics":[[500.5,500,259.5,194.5,518,388]],"frameIndices":[3],
            "metrics":{"coverage_min":0.3333333333333333,"overlap_max":0.30000000000000004}}
            """.Replace("\n", "", StringComparison.Ordinal) + "\n";
        Assert.Equal(expected, Encoding.UTF8.GetString(bytes));
        Assert.NotEqual(0xEF, bytes[0]); // no UTF-8 byte order mark
    }

    [Fact]
    public async Task WriteAsync_WritesOneParsableObjectPerLine_WithEveryField()
    {
        var rows = Mixed();

        var text = Encoding.UTF8.GetString(await WriteAsync(rows));

        Assert.EndsWith("\n", text, StringComparison.Ordinal);
        Assert.DoesNotContain('\r', text);
        var lines = text[..^1].Split('\n');
        Assert.Equal(rows.Count, lines.Length);
        for (var i = 0; i < rows.Count; i++)
        {
            Assert.Equal(lines[i].Trim(), lines[i]);
            using var document = JsonDocument.Parse(lines[i]);
            var json = document.RootElement;
            Assert.Equal(PropertyOrder, json.EnumerateObject().Select(p => p.Name));
            AssertSame(rows[i], Parse(json));
        }
    }

    [Fact]
    public async Task WriteAsync_SortsMetricKeysOrdinally_WhateverTheDictionaryOrder()
    {
        var metrics = new Dictionary<string, double> { ["z_last"] = 1, ["Upper"] = 2, ["a_first"] = 3, ["_under"] = 4 };

        var text = Encoding.UTF8.GetString(await WriteAsync([Row(1, metrics: metrics)]));

        using var document = JsonDocument.Parse(text);
        Assert.Equal(["Upper", "_under", "a_first", "z_last"], document.RootElement.GetProperty("metrics").EnumerateObject().Select(p => p.Name));
    }

    [Fact]
    public async Task WriteAsync_IsByteIdentical_WhenSameRowsWrittenTwice()
    {
        var first = await WriteAsync(Mixed());
        var second = await WriteAsync(Mixed());

        Assert.Equal(first, second);
    }

    [Fact]
    public async Task WriteAsync_WritesEmptyFile_WhenNoRows()
    {
        Assert.Empty(await WriteAsync([]));
    }

    [Fact]
    public async Task WriteAsync_WritesAllRows_WhenOutputSpansManyBufferFlushes()
    {
        var rows = Enumerable.Range(0, 2_000).Select(i => Row(i, images: 1 + i % 4, features: i % 2 == 0)).ToList();

        var text = Encoding.UTF8.GetString(await WriteAsync(rows));

        var lines = text[..^1].Split('\n');
        Assert.Equal(rows.Select(r => r.SegmentId), lines.Select(l => JsonDocument.Parse(l).RootElement.GetProperty("segmentId").GetInt64()));
    }

    private static ManifestRow Parse(JsonElement json) => new()
    {
        DatasetName = json.GetProperty("datasetName").GetString()!,
        DatasetVersion = json.GetProperty("datasetVersion").GetInt32(),
        SegmentId = json.GetProperty("segmentId").GetInt64(),
        SceneId = json.GetProperty("sceneId").GetString()!,
        RunId = json.GetProperty("runId").GetInt64(),
        VideoSha256 = json.GetProperty("videoSha256").GetString()!,
        SourcePath = json.GetProperty("sourcePath").GetString()!,
        Split = json.GetProperty("split").GetString()!,
        PointCloudUri = json.GetProperty("pointCloudUri").GetString()!,
        Points = json.GetProperty("points").GetInt32(),
        ImageUris = Strings(json.GetProperty("imageUris")),
        CorrespondenceUris = Strings(json.GetProperty("correspondenceUris")),
        FeatureUris = json.GetProperty("featureUris").ValueKind == JsonValueKind.Null ? null : Strings(json.GetProperty("featureUris")),
        CameraToWorld = Vectors(json.GetProperty("cameraToWorld")),
        Intrinsics = Vectors(json.GetProperty("intrinsics")),
        FrameIndices = [.. json.GetProperty("frameIndices").EnumerateArray().Select(e => e.GetInt32())],
        Metrics = json.GetProperty("metrics").EnumerateObject().ToDictionary(p => p.Name, p => p.Value.GetDouble()),
    };

    private static string[] Strings(JsonElement array) => [.. array.EnumerateArray().Select(e => e.GetString()!)];

    private static double[][] Vectors(JsonElement array) =>
        [.. array.EnumerateArray().Select(v => v.EnumerateArray().Select(e => e.GetDouble()).ToArray())];
}
