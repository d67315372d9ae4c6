using System.Globalization;
using System.Security.Cryptography;
using Concerto.Ingest.Core.Media;
using Microsoft.Extensions.Logging;
using Microsoft.ML.OnnxRuntime;

namespace Concerto.Ingest.Reconstruction.Onnx;

/// <summary>Where an ONNX Runtime session runs.</summary>
public enum OnnxDevice
{
    /// <summary>CUDA when its execution provider loads, CPU otherwise.</summary>
    Auto,

    /// <summary>CPU only.</summary>
    Cpu,

    /// <summary>CUDA asked for; still falls back to CPU (with a warning) when the provider cannot load, so a machine
    /// without a GPU runs the same profile slowly rather than not at all.</summary>
    Cuda,
}

/// <summary>One model file and its SHA-256 (lower-case hex).</summary>
public sealed record ModelFileHash(string FileName, string Sha256);

/// <summary>An ONNX model file opened in ONNX Runtime: the session (CUDA when it loads, CPU otherwise), the provider
/// used, and the hashes that record which weights produced an output. Every problem with the file is a
/// <see cref="BadInputException"/> naming the file and what to do.</summary>
public sealed partial class OnnxModelFile : IDisposable
{
    public const string Cuda = "CUDA";
    public const string Cpu = "CPU";

    private static string? s_cudaUnavailable;
    private readonly SessionOptions _options;

    private OnnxModelFile(string path, InferenceSession session, SessionOptions options, string provider, IReadOnlyList<ModelFileHash> files, string hash)
    {
        (Path, Session, _options, ExecutionProvider, Files, Hash) = (path, session, options, provider, files, hash);
    }

    /// <summary>Full path of the .onnx file.</summary>
    public string Path { get; }

    public InferenceSession Session { get; }

    /// <summary>"CUDA" or "CPU".</summary>
    public string ExecutionProvider { get; }

    /// <summary>SHA-256 of the .onnx file and each external-data file it refers to, in that order.</summary>
    public IReadOnlyList<ModelFileHash> Files { get; }

    /// <summary>SHA-256 (hex) of the .onnx file when self-contained; with external data, SHA-256 of the sha256sum-style
    /// manifest of <see cref="Files"/> ("hash  name\n" per file), so that <c>sha256sum m.onnx m.onnx_data | sha256sum</c>
    /// reproduces it and the weights, not just the graph, are covered.</summary>
    public string Hash { get; }

    /// <param name="what">What the model is, for messages ("VGGT model", "teacher model").</param>
    public static OnnxModelFile Open(string modelPath, string what, OnnxDevice device, int cudaDeviceId, ILogger logger)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(modelPath);
        ArgumentNullException.ThrowIfNull(logger);
        var path = System.IO.Path.GetFullPath(modelPath);
        if (!File.Exists(path)) throw new BadInputException($"{what} file {path} does not exist: set the model path to a .onnx file");

        IReadOnlyList<string> locations;
        try
        {
            locations = OnnxExternalData.Locations(path);
        }
        catch (InvalidDataException e)
        {
            throw new BadInputException($"{what} file {path} is not a readable ONNX model: {e.Message}", e);
        }

        var folder = System.IO.Path.GetDirectoryName(path)!;
        foreach (var location in locations)
        {
            var dataPath = System.IO.Path.GetFullPath(System.IO.Path.Combine(folder, location));
            if (!File.Exists(dataPath))
                throw new BadInputException($"{what} file {path} keeps its weights in the external data file {location}, " +
                    $"which is missing (expected at {dataPath}): put it beside the .onnx file");
        }

        var (session, options, provider) = CreateSession(path, what, device, cudaDeviceId, logger);
        var files = new List<ModelFileHash> { new(System.IO.Path.GetFileName(path), Sha256File(path)) };
        files.AddRange(locations.Select(l => new ModelFileHash(l, Sha256File(System.IO.Path.Combine(folder, l)))));
        var hash = files.Count == 1 ? files[0].Sha256 : Sha256Manifest(files);
        return new OnnxModelFile(path, session, options, provider, files, hash);
    }

    /// <summary>Parses a device string: "auto", "cpu" or "cuda"/"gpu" (case-insensitive).</summary>
    /// <summary>Why <paramref name="value"/> is not a device name (auto, cpu, cuda or gpu), as the end of a sentence
    /// naming the setting; null when it is one.</summary>
    public static string? DeviceProblem(string? value) =>
        value?.Trim().ToUpperInvariant() is "AUTO" or "CPU" or "CUDA" or "GPU" ? null : $"is '{value}': use auto, cpu or cuda.";

    public static OnnxDevice ParseDevice(string value)
    {
        ArgumentNullException.ThrowIfNull(value);
        return value.Trim().ToUpperInvariant() switch
        {
            "AUTO" => OnnxDevice.Auto,
            "CPU" => OnnxDevice.Cpu,
            "CUDA" or "GPU" => OnnxDevice.Cuda,
            _ => throw new ArgumentException($"unknown device '{value}': use auto, cpu or cuda", nameof(value)),
        };
    }

    /// <summary>"'name' float32[B,3,518,518], ..." for messages.</summary>
    public static string Describe(IReadOnlyDictionary<string, NodeMetadata> nodes) =>
        nodes.Count == 0 ? "(none)" : string.Join(", ", nodes.Select(n => $"'{n.Key}' {Describe(n.Value)}"));

    public static string Describe(NodeMetadata node)
    {
        ArgumentNullException.ThrowIfNull(node);
        if (!node.IsTensor) return node.OnnxValueType.ToString();
        var symbolic = node.SymbolicDimensions;
        var dims = node.Dimensions.Select((d, i) => d > 0 ? d.ToString(CultureInfo.InvariantCulture)
            : i < symbolic.Length && !string.IsNullOrEmpty(symbolic[i]) ? symbolic[i] : "?");
        return $"{node.ElementDataType.ToString().ToLowerInvariant()}[{string.Join(",", dims)}]";
    }

    public void Dispose()
    {
        Session.Dispose();
        _options.Dispose();
    }

    private static (InferenceSession Session, SessionOptions Options, string Provider) CreateSession(string path, string what, OnnxDevice device,
        int cudaDeviceId, ILogger logger)
    {
        var knownUnavailable = s_cudaUnavailable;
        if (device != OnnxDevice.Cpu && knownUnavailable is null)
        {
            var options = new SessionOptions();
            var appended = false;
            try
            {
                options.AppendExecutionProvider_CUDA(cudaDeviceId);
                appended = true;
                var session = new InferenceSession(path, options);
                Log.CudaLoaded(logger, cudaDeviceId);
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
                        if (device == OnnxDevice.Cuda) Log.CudaRequestedButUnavailable(logger, e.Message);
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

        if (device != OnnxDevice.Cpu && knownUnavailable is not null) Log.CudaStillUnavailable(logger, knownUnavailable);
        var cpuOptions = new SessionOptions();
        try
        {
            return (new InferenceSession(path, cpuOptions), cpuOptions, Cpu);
        }
        catch (OnnxRuntimeException e)
        {
            cpuOptions.Dispose();
            throw new BadInputException($"{what} file {path} could not be loaded by ONNX Runtime: {e.Message}", e);
        }
        catch
        {
            cpuOptions.Dispose();
            throw;
        }
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
        [LoggerMessage(EventId = 4102, Level = LogLevel.Information, Message = "CUDA execution provider loaded (device {DeviceId})")]
        public static partial void CudaLoaded(ILogger logger, int deviceId);

        [LoggerMessage(EventId = 4103, Level = LogLevel.Information, Message = "CUDA execution provider unavailable, running on the CPU: {Reason}")]
        public static partial void CudaUnavailable(ILogger logger, string reason);

        [LoggerMessage(EventId = 4104, Level = LogLevel.Warning, Message = "CUDA was asked for but its execution provider is unavailable; running on the CPU: {Reason}")]
        public static partial void CudaRequestedButUnavailable(ILogger logger, string reason);

        [LoggerMessage(EventId = 4106, Level = LogLevel.Warning, Message = "CUDA session for {Path} failed, trying the CPU: {Reason}")]
        public static partial void CudaSessionFailed(ILogger logger, string path, string reason);

        [LoggerMessage(EventId = 4105, Level = LogLevel.Debug, Message = "CUDA execution provider failed to load earlier in this process; using the CPU: {Reason}")]
        public static partial void CudaStillUnavailable(ILogger logger, string reason);
    }
}
