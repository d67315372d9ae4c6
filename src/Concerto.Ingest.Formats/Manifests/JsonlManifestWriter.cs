using System.Buffers;
using System.Text.Encodings.Web;
using System.Text.Json;

namespace Concerto.Ingest.Formats.Manifests;

/// <summary>
/// JSON Lines manifests: one object per row, properties in a fixed order, "\n" after every row, UTF-8 without BOM.
/// Utf8JsonWriter formats numbers culture-free, doubles in their shortest round-trip form, and writes no whitespace.
/// </summary>
internal static class JsonlManifestWriter
{
    private const int FlushBytes = 1 << 16;

    // Relaxed escaping keeps paths and URIs readable ('+', '&', non-ASCII); the output is a data file, never embedded
    // in HTML, which is the only case the default encoder guards against. Escaping is still deterministic.
    private static readonly JsonWriterOptions Options = new()
    {
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
        Indented = false,
    };

    public static async Task WriteAsync(Stream output, IEnumerable<ManifestRow> rows, CancellationToken ct)
    {
        var buffer = new ArrayBufferWriter<byte>(FlushBytes * 2);
        using var json = new Utf8JsonWriter(buffer, Options);
        var index = 0;
        foreach (var row in rows)
        {
            ct.ThrowIfCancellationRequested();
            ArgumentNullException.ThrowIfNull(row, nameof(rows));
            row.Validate(index++);
            WriteRow(json, row);
            json.Flush();
            json.Reset(); // one root value per line: the writer rejects a second root without a reset
            buffer.Write("\n"u8);
            if (buffer.WrittenCount >= FlushBytes)
            {
                await output.WriteAsync(buffer.WrittenMemory, ct);
                buffer.ResetWrittenCount();
            }
        }

        if (buffer.WrittenCount > 0) await output.WriteAsync(buffer.WrittenMemory, ct);
        await output.FlushAsync(ct);
    }

    private static void WriteRow(Utf8JsonWriter json, ManifestRow row)
    {
        json.WriteStartObject();
        json.WriteString("datasetName", row.DatasetName);
        json.WriteNumber("datasetVersion", row.DatasetVersion);
        json.WriteNumber("segmentId", row.SegmentId);
        json.WriteString("sceneId", row.SceneId);
        json.WriteNumber("runId", row.RunId);
        json.WriteString("videoSha256", row.VideoSha256);
        json.WriteString("sourcePath", row.SourcePath);
        json.WriteString("split", row.Split);
        json.WriteString("pointCloudUri", row.PointCloudUri);
        json.WriteNumber("points", row.Points);
        WriteStrings(json, "imageUris", row.ImageUris);
        WriteStrings(json, "correspondenceUris", row.CorrespondenceUris);
        if (row.FeatureUris is null) json.WriteNull("featureUris");
        else WriteStrings(json, "featureUris", row.FeatureUris);
        WriteVectors(json, "cameraToWorld", row.CameraToWorld);
        WriteVectors(json, "intrinsics", row.Intrinsics);

        json.WriteStartArray("frameIndices");
        foreach (var frame in row.FrameIndices) json.WriteNumberValue(frame);
        json.WriteEndArray();

        json.WriteStartObject("metrics");
        foreach (var key in row.Metrics.Keys.Order(StringComparer.Ordinal)) json.WriteNumber(key, row.Metrics[key]);
        json.WriteEndObject();
        json.WriteEndObject();
    }

    private static void WriteStrings(Utf8JsonWriter json, string name, IReadOnlyList<string> values)
    {
        json.WriteStartArray(name);
        foreach (var value in values) json.WriteStringValue(value);
        json.WriteEndArray();
    }

    private static void WriteVectors(Utf8JsonWriter json, string name, IReadOnlyList<double[]> vectors)
    {
        json.WriteStartArray(name);
        foreach (var vector in vectors)
        {
            json.WriteStartArray();
            foreach (var value in vector) json.WriteNumberValue(value);
            json.WriteEndArray();
        }

        json.WriteEndArray();
    }
}
