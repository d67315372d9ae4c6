using System.Security.Cryptography;
using Concerto.Ingest.Core.Media;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;

namespace Concerto.Ingest.Reconstruction.Vggt;

/// <summary>One model file and its SHA-256 (lower-case hex).</summary>
public sealed record ModelFileHash(string FileName, string Sha256);

/// <summary>A VGGT ONNX model opened in ONNX Runtime and checked against the VGGT signature. Owns the
/// <see cref="InferenceSession"/>; one session call per window (see <see cref="VggtReconstructor"/>). Every problem with
/// the model file is reported by <see cref="Open"/> as a <see cref="BadInputException"/> naming the file and the
/// mismatch, before any frame is processed.</summary>
public sealed partial class VggtModel : IDisposable
{
    public const string Cuda = "CUDA";
    public const string Cpu = "CPU";

    private static string? s_cudaUnavailable;

    private readonly InferenceSession _session;
    private readonly SessionOptions _options;

    private VggtModel(VggtSettings settings, string modelPath, InferenceSession session, SessionOptions options,
        string executionProvider, ModelSignature signature, IReadOnlyList<ModelFileHash> files, string modelHash)
    {
        Settings = settings;
        ModelPath = modelPath;
        _session = session;
        _options = options;
        ExecutionProvider = executionProvider;
        InputRank = signature.InputRank;
        InputIsFloat16 = signature.InputIsFloat16;
        FixedFrames = signature.FixedFrames;
        FixedHeight = signature.FixedHeight;
        FixedWidth = signature.FixedWidth;
        InputMode = signature.Mode;
        TargetSize = signature.TargetSize;
        ModelFiles = files;
        ModelHash = modelHash;
    }

    public VggtSettings Settings { get; }

    /// <summary>Full path of the .onnx file.</summary>
    public string ModelPath { get; }

    /// <summary>"CUDA" or "CPU".</summary>
    public string ExecutionProvider { get; }

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
    public IReadOnlyList<ModelFileHash> ModelFiles { get; }

    /// <summary>Licence provenance: SHA-256 (hex) of the .onnx file when the model is self-contained; with external data,
    /// SHA-256 of the sha256sum-style manifest of <see cref="ModelFiles"/> ("hash  name\n" per file), so that
    /// <c>sha256sum vggt.onnx vggt.onnx_data | sha256sum</c> in the model's folder reproduces it and the weights, not
    /// just the graph, are covered.</summary>
    public string ModelHash { get; }

    internal InferenceSession Session => _session;

    /// <summary>Checks the model file, opens the session (CUDA when asked for and available, else CPU) and checks the
    /// VGGT signature. Throws <see cref="BadInputException"/> for any problem with the model.</summary>
    public static VggtModel Open(VggtSettings settings, ILogger? logger = null)
    {
        ArgumentNullException.ThrowIfNull(settings);
        settings.Validate();
        logger ??= NullLogger.Instance;
        var path = Path.GetFullPath(settings.ModelPath);
        if (!File.Exists(path))
            throw new BadInputException($"VGGT model file {path} does not exist: set the reconstructor's model path to a .onnx file");

        IReadOnlyList<string> locations;
        try
        {
            locations = OnnxExternalData.Locations(path);
        }
        catch (InvalidDataException e)
        {
            throw new BadInputException($"VGGT model file {path} is not a readable ONNX model: {e.Message}", e);
        }

        var folder = Path.GetDirectoryName(path)!;
        foreach (var location in locations)
        {
            var dataPath = Path.GetFullPath(Path.Combine(folder, location));
            if (!File.Exists(dataPath))
                throw new BadInputException($"VGGT model file {path} keeps its weights in the external data file {location}, " +
                    $"which is missing (expected at {dataPath}): put it beside the .onnx file");
        }

        var (session, options, provider) = CreateSession(settings, path, logger);
        try
        {
            var signature = CheckSignature(settings, path, session);
            var files = new List<ModelFileHash> { new(Path.GetFileName(path), Sha256File(path)) };
            files.AddRange(locations.Select(l => new ModelFileHash(l, Sha256File(Path.Combine(folder, l)))));
            var hash = files.Count == 1 ? files[0].Sha256 : Sha256Manifest(files);
            Log.Opened(logger, path, provider, signature.Mode, signature.InputIsFloat16 ? "float16" : "float32", hash);
            return new VggtModel(settings, path, session, options, provider, signature, files, hash);
        }
        catch
        {
            session.Dispose();
            options.Dispose();
            throw;
        }
    }

    public void Dispose()
    {
        _session.Dispose();
        _options.Dispose();
    }

    private static (InferenceSession Session, SessionOptions Options, string Provider) CreateSession(VggtSettings settings,
        string path, ILogger logger)
    {
        var knownUnavailable = s_cudaUnavailable;
        if (settings.Device != VggtDevice.Cpu && knownUnavailable is null)
        {
            var options = new SessionOptions();
            var appended = false;
            try
            {
                options.AppendExecutionProvider_CUDA(settings.CudaDeviceId);
                appended = true;
                var session = new InferenceSession(path, options);
                Log.CudaLoaded(logger, settings.CudaDeviceId);
                return (session, options, Cuda);
            }
            catch (OnnxRuntimeException e)
            {
                options.Dispose();
                if (!appended)
                {
                    // No CUDA provider (libcublasLt, cuDNN, driver). The library does not appear later in the same
                    // process: remember, and log (ONNX Runtime also prints its own load error) once per process.
                    if (Interlocked.CompareExchange(ref s_cudaUnavailable, e.Message, null) is null)
                    {
                        if (settings.Device == VggtDevice.Cuda) Log.CudaRequestedButUnavailable(logger, e.Message);
                        else Log.CudaUnavailable(logger, e.Message);
                    }
                }
                else
                {
                    // The provider loaded but the CUDA session failed (out of memory, unsupported node, or a broken
                    // model): try the CPU, which reports a broken model with its own message below.
                    Log.CudaSessionFailed(logger, path, e.Message);
                }
            }
            catch
            {
                options.Dispose();
                throw;
            }
        }

        if (settings.Device != VggtDevice.Cpu && knownUnavailable is not null) Log.CudaStillUnavailable(logger, knownUnavailable);
        var cpuOptions = new SessionOptions();
        try
        {
            return (new InferenceSession(path, cpuOptions), cpuOptions, Cpu);
        }
        catch (OnnxRuntimeException e)
        {
            cpuOptions.Dispose();
            throw new BadInputException($"VGGT model file {path} could not be loaded by ONNX Runtime: {e.Message}", e);
        }
        catch
        {
            cpuOptions.Dispose();
            throw;
        }
    }

    private sealed record ModelSignature(int InputRank, bool InputIsFloat16, int? FixedFrames, int? FixedHeight, int? FixedWidth,
        VggtInputMode Mode, int TargetSize);

    private static ModelSignature CheckSignature(VggtSettings settings, string path, InferenceSession session)
    {
        var inputs = session.InputMetadata;
        if (!inputs.TryGetValue(settings.InputName, out var input))
            throw new BadInputException($"VGGT model file {path} has no input named '{settings.InputName}'; its inputs are " +
                $"{Describe(inputs)}: set the input name in the reconstructor settings");
        if (inputs.Count != 1)
            throw new BadInputException($"VGGT model file {path} has {inputs.Count} inputs ({Describe(inputs)}); a VGGT model takes " +
                $"only the image tensor '{settings.InputName}'");
        if (!input.IsTensor || input.ElementDataType is not (TensorElementType.Float or TensorElementType.Float16))
            throw new BadInputException($"VGGT model file {path}: input '{settings.InputName}' is {Describe(input)}; " +
                "expected a float32 or float16 image tensor");
        var dims = input.Dimensions;
        if (dims.Length is not (4 or 5))
            throw new BadInputException($"VGGT model file {path}: input '{settings.InputName}' has rank {dims.Length} " +
                $"({Describe(input)}); expected rank 4 [N,3,H,W] or rank 5 [B,S,3,H,W]");
        var channels = dims[^3];
        if (channels > 0 && channels != 3)
            throw new BadInputException($"VGGT model file {path}: input '{settings.InputName}' has {channels} channels " +
                $"({Describe(input)}); expected 3 (RGB)");
        if (dims.Length == 5 && dims[0] > 1)
            throw new BadInputException($"VGGT model file {path}: input '{settings.InputName}' has a fixed batch of {dims[0]} " +
                $"({Describe(input)}); one window is one batch of 1");

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
                $"is {Describe(input)}: use crop mode");

        var required = new List<string> { settings.PoseEncodingOutput, settings.DepthOutput, settings.DepthConfidenceOutput };
        if (settings.UsePointMap) required.AddRange([settings.WorldPointsOutput, settings.WorldPointsConfidenceOutput]);
        var outputs = session.OutputMetadata;
        var missing = required.Where(n => !outputs.ContainsKey(n)).ToList();
        if (missing.Count > 0)
            throw new BadInputException($"VGGT model file {path} lacks the output(s) {string.Join(", ", missing.Select(n => $"'{n}'"))}; " +
                $"its outputs are {Describe(outputs)}: set the output names in the reconstructor settings");
        foreach (var name in required)
        {
            var output = outputs[name];
            if (!output.IsTensor || output.ElementDataType is not (TensorElementType.Float or TensorElementType.Float16))
                throw new BadInputException($"VGGT model file {path}: output '{name}' is {Describe(output)}; expected float32 or float16");
        }

        return new ModelSignature(dims.Length, input.ElementDataType == TensorElementType.Float16, frames, height, width, mode, target);
    }

    private static string Describe(IReadOnlyDictionary<string, NodeMetadata> nodes) =>
        nodes.Count == 0 ? "(none)" : string.Join(", ", nodes.Select(n => $"'{n.Key}' {Describe(n.Value)}"));

    private static string Describe(NodeMetadata node)
    {
        if (!node.IsTensor) return node.OnnxValueType.ToString();
        var symbolic = node.SymbolicDimensions;
        var dims = node.Dimensions.Select((d, i) => d > 0 ? d.ToString(System.Globalization.CultureInfo.InvariantCulture)
            : i < symbolic.Length && !string.IsNullOrEmpty(symbolic[i]) ? symbolic[i] : "?");
        return $"{node.ElementDataType.ToString().ToLowerInvariant()}[{string.Join(",", dims)}]";
    }

    private static string Sha256File(string path)
    {
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 20, FileOptions.SequentialScan);
        return Convert.ToHexStringLower(SHA256.HashData(stream));
    }

    private static string Sha256Manifest(IEnumerable<ModelFileHash> files)
    {
        var manifest = string.Concat(files.Select(f => $"{f.Sha256}  {f.FileName}\n"));
        return Convert.ToHexStringLower(SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(manifest)));
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 4101, Level = LogLevel.Information,
            Message = "VGGT model {Path} on {Provider}: {Mode} mode, {ElementType} input, SHA-256 {Hash}")]
        public static partial void Opened(ILogger logger, string path, string provider, VggtInputMode mode, string elementType, string hash);

        [LoggerMessage(EventId = 4102, Level = LogLevel.Information, Message = "CUDA execution provider loaded (device {DeviceId})")]
        public static partial void CudaLoaded(ILogger logger, int deviceId);

        [LoggerMessage(EventId = 4103, Level = LogLevel.Information, Message = "CUDA execution provider unavailable, running VGGT on the CPU: {Reason}")]
        public static partial void CudaUnavailable(ILogger logger, string reason);

        [LoggerMessage(EventId = 4104, Level = LogLevel.Warning, Message = "CUDA was asked for but its execution provider is unavailable; running VGGT on the CPU: {Reason}")]
        public static partial void CudaRequestedButUnavailable(ILogger logger, string reason);

        [LoggerMessage(EventId = 4106, Level = LogLevel.Warning, Message = "CUDA session for {Path} failed, trying the CPU: {Reason}")]
        public static partial void CudaSessionFailed(ILogger logger, string path, string reason);

        [LoggerMessage(EventId = 4105, Level = LogLevel.Debug, Message = "CUDA execution provider failed to load earlier in this process; using the CPU: {Reason}")]
        public static partial void CudaStillUnavailable(ILogger logger, string reason);
    }
}
