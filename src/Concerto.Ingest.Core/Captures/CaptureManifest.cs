using System.Text.Json;
using System.Text.Json.Serialization;

namespace Concerto.Ingest.Core.Captures;

/// <summary>capture.json: a video with known cameras and per-frame depth (and, for synthetic scenes, labels and a
/// ground-truth point cloud). Written by `concerto synth`; phone LiDAR / RGB-D exports converted to it are read by the
/// posed reconstructor. Poses are camera-to-world, OpenCV camera axes (x right, y down, z forward), world z up, metres.
/// Paths are relative to the folder holding capture.json.</summary>
public sealed record CaptureManifest(
    string Format,
    int Version,
    string Source,
    string Video,
    int Width,
    int Height,
    double Fps,
    CaptureIntrinsics Intrinsics,
    CaptureImages Depth,
    CaptureImages? Semantic,
    CaptureImages? Instance,
    IReadOnlyList<CaptureClass>? Classes,
    CapturePointCloud? PointCloud,
    IReadOnlyList<CaptureFrame> Frames,
    int? Seed = null)
{
    public const string FileName = "capture.json";
    public const string FormatName = "concerto-capture";

    public static JsonSerializerOptions JsonOptions { get; } = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
        WriteIndented = true,
        NewLine = "\n", // the same bytes on every platform
    };
}

/// <summary>Pixel intrinsics: the ray through pixel (u, v) (integer = pixel centre) is ((u - Cx) / Fx, (v - Cy) / Fy, 1).</summary>
public sealed record CaptureIntrinsics(double Fx, double Fy, double Cx, double Cy);

/// <summary>One image per frame, <c>Folder/{index:D6}.png</c>. Depth is z-depth: value / <see cref="UnitsPerMetre"/>
/// metres, 0 = no measurement. Labels: <see cref="Ignore"/> marks pixels without a label.</summary>
public sealed record CaptureImages(string Folder, string Encoding, double? UnitsPerMetre = null, int? Ignore = null);

public sealed record CaptureClass(int Id, string Name);

/// <summary>Pointcept-style arrays: coord.npy (N,3 float32), color.npy (N,3 uint8), normal.npy (N,3 float32),
/// segment.npy and instance.npy (N int32).</summary>
public sealed record CapturePointCloud(string Folder, int Count);

/// <summary><see cref="CameraToWorld"/> is a row-major 4x4 matrix; <see cref="Time"/> is seconds into the video.</summary>
public sealed record CaptureFrame(int Index, double Time, IReadOnlyList<double> CameraToWorld);
