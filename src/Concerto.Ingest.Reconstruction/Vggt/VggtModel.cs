using Concerto.Ingest.Core.Media;
using Concerto.Ingest.Reconstruction.Onnx;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;

namespace Concerto.Ingest.Reconstruction.Vggt;

/// <summary>A VGGT ONNX model opened in ONNX Runtime and checked against the VGGT signature. Owns the
/// <see cref="InferenceSession"/>; one session call per window (see <see cref="VggtReconstructor"/>). Every problem with
/// the model file is reported by <see cref="Open"/> as a <see cref="BadInputException"/> naming the file and the
/// mismatch, before any frame is processed.</summary>
public sealed partial class VggtModel : IDisposable
{
    public const string Cuda = OnnxModelFile.Cuda;
    public const string Cpu = OnnxModelFile.Cpu;

    private readonly OnnxModelFile _file;

    private VggtModel(VggtSettings settings, OnnxModelFile file, ModelSignature signature)
    {
        Settings = settings;
        _file = file;
        InputRank = signature.InputRank;
        InputIsFloat16 = signature.InputIsFloat16;
        FixedFrames = signature.FixedFrames;
        FixedHeight = signature.FixedHeight;
        FixedWidth = signature.FixedWidth;
        InputMode = signature.Mode;
        TargetSize = signature.TargetSize;
    }

    public VggtSettings Settings { get; }

    /// <summary>Full path of the .onnx file.</summary>
    public string ModelPath => _file.Path;

    /// <summary>"CUDA" or "CPU".</summary>
    public string ExecutionProvider => _file.ExecutionProvider;

    /// <summary>4 ([N,3,H,W]) or 5 ([B,S,3,H,W]).</summary>
    public int InputRank { get; }

    /// <summary>The model takes float16 (the fp16 export); outputs may be float16 too. Conversion uses
    /// <see cref="Half"/>.</summary>
    public bool InputIsFloat16 { get; }

    /// <summary>Fixed sizes of the input, null where the dimension is dynamic.</summary>
    public int? FixedFrames { get; }
    public int? FixedHeight { get; }
    public int? FixedWidth { get; }

    /// <summary>The preprocessing in use (the setting, or what the model's input shape implies).</summary>
    public VggtInputMode InputMode { get; }

    /// <summary>The target size of <see cref="InputGeometry"/>: the fixed width (or 518 when dynamic).</summary>
    public int TargetSize { get; }

    /// <summary>SHA-256 of the .onnx file and each external-data file it refers to, in that order.</summary>
    public IReadOnlyList<ModelFileHash> ModelFiles => _file.Files;

    /// <summary>Licence provenance (see <see cref="OnnxModelFile.Hash"/>): the weights, not just the graph, are covered.</summary>
    public string ModelHash => _file.Hash;

    internal InferenceSession Session => _file.Session;

    /// <summary>Checks the model file, opens the session (CUDA when asked for and available, else CPU) and checks the
    /// VGGT signature. Throws <see cref="BadInputException"/> for any problem with the model.</summary>
    public static VggtModel Open(VggtSettings settings, ILogger? logger = null)
    {
        ArgumentNullException.ThrowIfNull(settings);
        settings.Validate();
        logger ??= NullLogger.Instance;
        var file = OnnxModelFile.Open(settings.ModelPath, "VGGT model", settings.Device, settings.CudaDeviceId, logger);
        try
        {
            var signature = CheckSignature(settings, file.Path, file.Session);
            Log.Opened(logger, file.Path, file.ExecutionProvider, signature.Mode, signature.InputIsFloat16 ? "float16" : "float32", file.Hash);
            return new VggtModel(settings, file, signature);
        }
        catch
        {
            file.Dispose();
            throw;
        }
    }

    public void Dispose() => _file.Dispose();

    private sealed record ModelSignature(int InputRank, bool InputIsFloat16, int? FixedFrames, int? FixedHeight, int? FixedWidth,
        VggtInputMode Mode, int TargetSize);

    private static ModelSignature CheckSignature(VggtSettings settings, string path, InferenceSession session)
    {
        var inputs = session.InputMetadata;
        if (!inputs.TryGetValue(settings.InputName, out var input))
            throw new BadInputException($"VGGT model file {path} has no input named '{settings.InputName}'; its inputs are " +
                $"{OnnxModelFile.Describe(inputs)}: set the input name in the reconstructor settings");
        if (inputs.Count != 1)
            throw new BadInputException($"VGGT model file {path} has {inputs.Count} inputs ({OnnxModelFile.Describe(inputs)}); a VGGT model takes " +
                $"only the image tensor '{settings.InputName}'");
        if (!input.IsTensor || input.ElementDataType is not (TensorElementType.Float or TensorElementType.Float16))
            throw new BadInputException($"VGGT model file {path}: input '{settings.InputName}' is {OnnxModelFile.Describe(input)}; " +
                "expected a float32 or float16 image tensor");
        var dims = input.Dimensions;
        if (dims.Length is not (4 or 5))
            throw new BadInputException($"VGGT model file {path}: input '{settings.InputName}' has rank {dims.Length} " +
                $"({OnnxModelFile.Describe(input)}); expected rank 4 [N,3,H,W] or rank 5 [B,S,3,H,W]");
        var channels = dims[^3];
        if (channels > 0 && channels != 3)
            throw new BadInputException($"VGGT model file {path}: input '{settings.InputName}' has {channels} channels " +
                $"({OnnxModelFile.Describe(input)}); expected 3 (RGB)");
        if (dims.Length == 5 && dims[0] > 1)
            throw new BadInputException($"VGGT model file {path}: input '{settings.InputName}' has a fixed batch of {dims[0]} " +
                $"({OnnxModelFile.Describe(input)}); one window is one batch of 1");

        int? Fixed(int d) => d > 0 ? d : null;
        int? frames = Fixed(dims[^4]), height = Fixed(dims[^2]), width = Fixed(dims[^1]);
        foreach (var (name, size) in new[] { ("height", height), ("width", width) })
            if (size is { } s && s % InputGeometry.Patch != 0)
                throw new BadInputException($"VGGT model file {path}: input {name} {s} is not a multiple of {InputGeometry.Patch}");

        var mode = settings.Mode switch
        {
            VggtInputModeSetting.Crop => VggtInputMode.Crop,
            VggtInputModeSetting.Pad => VggtInputMode.Pad,
            _ => height is { } h && width is { } w && h == w ? VggtInputMode.Pad : VggtInputMode.Crop,
        };
        var target = mode == VggtInputMode.Pad ? width ?? height ?? InputGeometry.DefaultTargetSize : width ?? InputGeometry.DefaultTargetSize;
        if (mode == VggtInputMode.Pad && (height ?? target) != target)
            throw new BadInputException($"VGGT model file {path}: pad mode makes {target}x{target} inputs but the model's input " +
                $"is {OnnxModelFile.Describe(input)}: use crop mode");

        var required = new List<string> { settings.PoseEncodingOutput, settings.DepthOutput, settings.DepthConfidenceOutput };
        if (settings.UsePointMap) required.AddRange([settings.WorldPointsOutput, settings.WorldPointsConfidenceOutput]);
        var outputs = session.OutputMetadata;
        var missing = required.Where(n => !outputs.ContainsKey(n)).ToList();
        if (missing.Count > 0)
            throw new BadInputException($"VGGT model file {path} lacks the output(s) {string.Join(", ", missing.Select(n => $"'{n}'"))}; " +
                $"its outputs are {OnnxModelFile.Describe(outputs)}: set the output names in the reconstructor settings");
        foreach (var name in required)
        {
            var output = outputs[name];
            if (!output.IsTensor || output.ElementDataType is not (TensorElementType.Float or TensorElementType.Float16))
                throw new BadInputException($"VGGT model file {path}: output '{name}' is {OnnxModelFile.Describe(output)}; expected float32 or float16");
        }

        return new ModelSignature(dims.Length, input.ElementDataType == TensorElementType.Float16, frames, height, width, mode, target);
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 4101, Level = LogLevel.Information,
            Message = "VGGT model {Path} on {Provider}: {Mode} mode, {ElementType} input, SHA-256 {Hash}")]
        public static partial void Opened(ILogger logger, string path, string provider, VggtInputMode mode, string elementType, string hash);
    }
}
