using Concerto.Ingest.Reconstruction.Onnx;

namespace Concerto.Ingest.Reconstruction.Vggt;

/// <summary>How frames are fitted to the network input.</summary>
public enum VggtInputModeSetting
{
    /// <summary>From the model's input shape: fixed square H = W (the public export's 518x518) means
    /// <see cref="VggtInputMode.Pad"/>; anything else (dynamic H or W, or a fixed non-square size) means
    /// <see cref="VggtInputMode.Crop"/>.</summary>
    Auto,
    Crop,
    Pad,
}

/// <summary>Settings of the VGGT ONNX Runtime step. Names default to the public export (akretz/VGGT-1B-onnx);
/// other exports may name them differently.</summary>
public sealed record VggtSettings
{
    public required string ModelPath { get; init; }

    public string InputName { get; init; } = "input_images";

    /// <summary>[1,S,9]: t, quaternion (x, y, z, w), fov_h, fov_w.</summary>
    public string PoseEncodingOutput { get; init; } = "pose_enc";

    /// <summary>[1,S,H,W,1].</summary>
    public string DepthOutput { get; init; } = "depth";

    /// <summary>[1,S,H,W].</summary>
    public string DepthConfidenceOutput { get; init; } = "depth_conf";

    /// <summary>[1,S,H,W,3]; read only when <see cref="UsePointMap"/> is set.</summary>
    public string WorldPointsOutput { get; init; } = "world_points";

    /// <summary>[1,S,H,W]; read only when <see cref="UsePointMap"/> is set.</summary>
    public string WorldPointsConfidenceOutput { get; init; } = "world_points_conf";

    public VggtInputModeSetting Mode { get; init; } = VggtInputModeSetting.Auto;

    public OnnxDevice Device { get; init; } = OnnxDevice.Auto;

    public int CudaDeviceId { get; init; }

    /// <summary>Also read the point-map head (world_points, world_points_conf). Off by default: depth + camera
    /// unprojection is the more accurate branch (VGGT maintainers).</summary>
    public bool UsePointMap { get; init; }

    /// <summary>Parses a profile's mode string: "auto", "crop" or "pad" (case-insensitive).</summary>
    public static VggtInputModeSetting ParseMode(string value)
    {
        ArgumentNullException.ThrowIfNull(value);
        return value.Trim().ToUpperInvariant() switch
        {
            "AUTO" => VggtInputModeSetting.Auto,
            "CROP" => VggtInputModeSetting.Crop,
            "PAD" => VggtInputModeSetting.Pad,
            _ => throw new ArgumentException($"unknown VGGT input mode '{value}': use auto, crop or pad", nameof(value)),
        };
    }

    /// <summary>Throws <see cref="ArgumentException"/> for settings that cannot work whatever the model.</summary>
    public void Validate()
    {
        if (string.IsNullOrWhiteSpace(ModelPath)) throw new ArgumentException("VGGT settings need a model path (.onnx)");
        (string Name, string Value)[] names =
        [
            (nameof(InputName), InputName), (nameof(PoseEncodingOutput), PoseEncodingOutput), (nameof(DepthOutput), DepthOutput),
            (nameof(DepthConfidenceOutput), DepthConfidenceOutput), (nameof(WorldPointsOutput), WorldPointsOutput),
            (nameof(WorldPointsConfidenceOutput), WorldPointsConfidenceOutput),
        ];
        foreach (var (name, value) in names)
            if (string.IsNullOrWhiteSpace(value)) throw new ArgumentException($"VGGT setting {name} must name a model input/output");
        if (!Enum.IsDefined(Mode)) throw new ArgumentException($"unknown VGGT input mode {Mode}");
        if (!Enum.IsDefined(Device)) throw new ArgumentException($"unknown VGGT device {Device}");
        if (CudaDeviceId < 0) throw new ArgumentException($"CUDA device id {CudaDeviceId} must be >= 0");
    }
}
