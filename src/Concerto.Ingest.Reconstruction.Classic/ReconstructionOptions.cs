using Concerto.Ingest.Reconstruction.Onnx;

namespace Concerto.Ingest.Reconstruction.Classic;

/// <summary>Options of the "Concerto:Reconstruction" section.</summary>
public sealed class ReconstructionOptions
{
    public const string Section = "Concerto:Reconstruction";

    /// <summary>VGGT ONNX model used when a profile names none (reconstruct.modelPath).</summary>
    public string? VggtModel { get; set; }

    /// <summary>auto, cpu or cuda.</summary>
    public string Device { get; set; } = "auto";

    /// <summary>The COLMAP program for reconstruct.method colmap; empty: `colmap` on PATH. A path that does not exist
    /// is not an error: auto then reconstructs with classic, saying why.</summary>
    public string? ColmapPath { get; set; }

    /// <summary>What is wrong with these settings, each naming its setting; empty when they can work.</summary>
    public IEnumerable<string> Problems()
    {
        if (OnnxModelFile.DeviceProblem(Device) is { } device) yield return $"{Section}:Device {device}";
        if (!string.IsNullOrWhiteSpace(VggtModel) && Directory.Exists(VggtModel))
            yield return $"{Section}:VggtModel is '{VggtModel}', a folder: name the VGGT .onnx file.";
    }
}
