using Concerto.Ingest.Reconstruction.Onnx;

namespace Concerto.Ingest.Features;

/// <summary>Options of the "Concerto:Features" section.</summary>
public sealed class FeatureOptions
{
    public const string Section = "Concerto:Features";

    /// <summary>Image-teacher ONNX model used when a profile names none (featurize.modelPath).</summary>
    public string? TeacherModel { get; set; }

    /// <summary>auto, cpu or cuda.</summary>
    public string Device { get; set; } = "auto";

    /// <summary>What is wrong with these settings, each naming its setting; empty when they can work.</summary>
    public IEnumerable<string> Problems()
    {
        if (OnnxModelFile.DeviceProblem(Device) is { } device) yield return $"{Section}:Device {device}";
        if (!string.IsNullOrWhiteSpace(TeacherModel) && Directory.Exists(TeacherModel))
            yield return $"{Section}:TeacherModel is '{TeacherModel}', a folder: name the teacher's .onnx file.";
    }
}
