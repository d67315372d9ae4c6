using System.Text.Json.Serialization;

namespace Concerto.Ingest.Core.Profiles;

/// <summary>A versioned pipeline profile (a JSON file under pipelines/). Sections for later stages ride along in
/// <see cref="ProfileDocument.CanonicalJson"/> and the hash even when this record does not model them yet.</summary>
public sealed record PipelineProfile(
    string Name,
    int Version,
    DecodeSettings Decode);

/// <summary>How the decode stage samples keyframes from a video.</summary>
/// <param name="Width">Keyframe width in pixels; height follows the display aspect ratio (even). Never upscales.</param>
/// <param name="MinSharpness">Frames whose variance of Laplacian is below this are rejected as blurred.</param>
/// <param name="AnalysisFps">Rate at which candidate frames are analysed; null = the video's own frame rate.</param>
public sealed record DecodeSettings(
    int Width,
    SamplingSettings Sampling,
    double MinSharpness,
    double? AnalysisFps,
    KeyframeImageFormat ImageFormat,
    int JpegQuality)
{
    public static DecodeSettings Default { get; } =
        new(518, new SamplingSettings(SamplingMode.Fps, 2.0, null), 15.0, null, KeyframeImageFormat.Jpg, 95);
}

/// <summary>Keyframes either at a target rate (one per 1/fps window) or a fixed count spread over the video.</summary>
public sealed record SamplingSettings(SamplingMode Mode, double? Fps, int? Count);

[JsonConverter(typeof(JsonStringEnumConverter<SamplingMode>))]
public enum SamplingMode { Fps, Count }

[JsonConverter(typeof(JsonStringEnumConverter<KeyframeImageFormat>))]
public enum KeyframeImageFormat { Jpg, Png }
