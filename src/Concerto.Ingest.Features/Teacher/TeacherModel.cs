using System.Diagnostics;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Concerto.Ingest.Core.Media;
using Concerto.Ingest.Core.Profiles;
using Concerto.Ingest.Reconstruction.Onnx;
using Microsoft.Extensions.Logging;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;

namespace Concerto.Ingest.Features.Teacher;

/// <summary>A frozen image teacher (DINOv2 with registers, any width) opened in ONNX Runtime and checked against the
/// settings before any image is processed: input and output names, ranks, and, by one run on a blank image, that the
/// output holds exactly LeadingTokens + (ImageSize / PatchSize)^2 tokens.</summary>
public sealed partial class TeacherModel : IDisposable
{
    private readonly OnnxModelFile _file;

    private TeacherModel(OnnxModelFile file, FeaturizeSettings settings, int width, ILogger logger)
    {
        (_file, Settings, Width) = (file, settings, width);
        var grid = settings.Grid;
        // A square grid is described as it always was (so features computed before keep their identity); another grid
        // names its input height and width.
        object preprocessing = grid.Rows == grid.Columns
            ? new
            {
                settings.InputName,
                settings.OutputName,
                settings.LeadingTokens,
                ImageSize = settings.InputHeight,
                settings.PatchSize,
                CropMultiple = grid.Rows,
                mean = settings.ChannelMean,
                std = settings.ChannelStd,
                resize = "bilinear",
            }
            : new
            {
                settings.InputName,
                settings.OutputName,
                settings.LeadingTokens,
                settings.InputHeight,
                settings.InputWidth,
                settings.PatchSize,
                GridRows = grid.Rows,
                GridColumns = grid.Columns,
                mean = settings.ChannelMean,
                std = settings.ChannelStd,
                resize = "bilinear",
            };
        // Plain features keep the identity they always had; augmented copies are other numbers, so another identity.
        Preprocessing = settings.AugmentedCopies == 0 ? JsonSerializer.Serialize(preprocessing) : JsonSerializer.Serialize(new
        {
            preprocessing,
            augmentation = new
            {
                copies = settings.AugmentedCopies,
                chromaticJitter = new { p = TeacherAugmentation.JitterProbability, ratio = TeacherAugmentation.JitterRatio },
                gaussianBlur = new
                {
                    p = TeacherAugmentation.BlurProbability, kernel = TeacherAugmentation.BlurKernel,
                    sigma = new[] { TeacherAugmentation.BlurSigmaMin, TeacherAugmentation.BlurSigmaMax },
                },
                seed = "FNV-1a of the output name and copy",
            },
        });
        Identity = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes($"{file.Hash}\n{Preprocessing}")));
        Log.Opened(logger, file.Path, file.ExecutionProvider, width, Identity);
    }

    public FeaturizeSettings Settings { get; }

    /// <summary>Feature width D (384 ViT-S, 768 ViT-B, 1024 ViT-L, 1536 ViT-g).</summary>
    public int Width { get; }

    /// <summary>SHA-256 of the model's files (weights included).</summary>
    public string ModelHash => _file.Hash;

    public string ModelPath => _file.Path;

    public string ExecutionProvider => _file.ExecutionProvider;

    /// <summary>The settings that shape the features, as JSON (stored beside them).</summary>
    public string Preprocessing { get; }

    /// <summary>SHA-256 of the model hash and <see cref="Preprocessing"/>: features with the same identity are the same
    /// numbers, so they are computed once.</summary>
    public string Identity { get; }

    public static TeacherModel Open(FeaturizeSettings settings, string modelPath, OnnxDevice device, ILogger logger)
    {
        ArgumentNullException.ThrowIfNull(settings);
#pragma warning disable CA2000 // disposed below on failure; owned by the returned model otherwise
        var file = OnnxModelFile.Open(modelPath, "teacher model", device, 0, logger);
#pragma warning restore CA2000
        try
        {
            return new TeacherModel(file, settings, Check(file, settings), logger);
        }
        catch
        {
            file.Dispose();
            throw;
        }
    }

    /// <summary>Runs <paramref name="count"/> preprocessed images (CHW each, back to back) and returns each image's patch
    /// tokens, row-major (h, w), Width values each, in float16; and the seconds spent inside Run.</summary>
    public (Half[][] Features, double RunSeconds) Run(float[] batch, int count)
    {
        ArgumentNullException.ThrowIfNull(batch);
        var (height, width) = (Settings.InputHeight, Settings.InputWidth);
        using var input = OrtValue.CreateTensorValueFromMemory(OrtMemoryInfo.DefaultInstance, batch.AsMemory(0, count * 3 * height * width),
            [count, 3, height, width]);
        using var runOptions = new RunOptions();
        var clock = Stopwatch.StartNew();
        using var outputs = _file.Session.Run(runOptions, [Settings.InputName], [input], [Settings.OutputName]);
        var seconds = clock.Elapsed.TotalSeconds;
        var tokens = Settings.LeadingTokens + Settings.PatchTokens;
        var values = outputs[0].GetTensorDataAsSpan<float>();
        var features = new Half[count][];
        for (var i = 0; i < count; i++)
        {
            var patches = values.Slice((i * tokens + Settings.LeadingTokens) * Width, Settings.PatchTokens * Width);
            features[i] = new Half[patches.Length];
            for (var j = 0; j < patches.Length; j++) features[i][j] = (Half)patches[j];
        }

        return (features, seconds);
    }

    public void Dispose() => _file.Dispose();

    /// <summary>Checks the signature and returns the feature width.</summary>
    private static int Check(OnnxModelFile file, FeaturizeSettings settings)
    {
        var path = file.Path;
        var inputs = file.Session.InputMetadata;
        if (!inputs.TryGetValue(settings.InputName, out var input) || inputs.Count != 1)
            throw new BadInputException($"teacher model {path} must take one input named '{settings.InputName}'; its inputs are " +
                $"{OnnxModelFile.Describe(inputs)}: set featurize.inputName in the profile");
        if (!input.IsTensor || input.ElementDataType != TensorElementType.Float || input.Dimensions.Length != 4)
            throw new BadInputException($"teacher model {path}: input '{settings.InputName}' is {OnnxModelFile.Describe(input)}; expected float32 [B,3,H,W]");
        var dims = input.Dimensions;
        var (height, width) = (settings.InputHeight, settings.InputWidth);
        if ((dims[1] > 0 && dims[1] != 3) || (dims[2] > 0 && dims[2] != height) || (dims[3] > 0 && dims[3] != width))
            throw new BadInputException($"teacher model {path}: input '{settings.InputName}' is {OnnxModelFile.Describe(input)}; the settings feed " +
                $"[B,3,{height},{width}] (featurize.imageSize, or imageHeight and imageWidth)");
        var outputs = file.Session.OutputMetadata;
        if (!outputs.TryGetValue(settings.OutputName, out var output))
            throw new BadInputException($"teacher model {path} has no output named '{settings.OutputName}'; its outputs are " +
                $"{OnnxModelFile.Describe(outputs)}: set featurize.outputName in the profile");
        if (!output.IsTensor || output.ElementDataType != TensorElementType.Float || output.Dimensions.Length != 3)
            throw new BadInputException($"teacher model {path}: output '{settings.OutputName}' is {OnnxModelFile.Describe(output)}; expected float32 [B,tokens,D]");

        // One blank image: the only reliable check of the token layout when the output's dimensions are dynamic.
        using var probe = OrtValue.CreateTensorValueFromMemory(new float[3 * height * width], [1, 3, height, width]);
        using var runOptions = new RunOptions();
        long[] shape;
        try
        {
            using var result = file.Session.Run(runOptions, [settings.InputName], [probe], [settings.OutputName]);
            shape = result[0].GetTensorTypeAndShape().Shape;
        }
        catch (OnnxRuntimeException e)
        {
            throw new BadInputException($"teacher model {path} fails on a {width}x{height} image: {e.Message}", e);
        }

        var expected = settings.LeadingTokens + settings.PatchTokens;
        if (shape.Length != 3 || shape[0] != 1 || shape[1] != expected || shape[2] < 1)
            throw new BadInputException($"teacher model {path} returns '{settings.OutputName}' of shape [{string.Join(",", shape)}] for one " +
                $"{width}x{height} image; the settings expect [1,{expected},D] ({settings.LeadingTokens} leading tokens + " +
                $"{settings.Grid.Rows}x{settings.Grid.Columns} patch tokens): fix featurize.leadingTokens, imageSize (or imageHeight and imageWidth) or patchSize, or use a DINOv2-style model");
        return checked((int)shape[2]);
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 4201, Level = LogLevel.Information, Message = "Teacher model {Path} on {Provider}: width {Width}, identity {Identity}")]
        public static partial void Opened(ILogger logger, string path, string provider, int width, string identity);
    }
}
