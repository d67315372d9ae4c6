using Concerto.Ingest.Core.Media;
using Concerto.Ingest.Core.Profiles;
using Concerto.Ingest.Features.Teacher;
using Concerto.Ingest.Formats.Arrays;
using Concerto.Ingest.Reconstruction.Onnx;
using Concerto.Ingest.Synthetic.Models;
using Microsoft.Extensions.Logging.Abstractions;
using OpenCvSharp;

namespace Concerto.Ingest.Features.Tests;

/// <summary>The teacher through real ONNX Runtime on a DINOv2-signature model (patch-embedding convolution, CLS and 4
/// registers in front), checked against the same preprocessing and convolution computed here.</summary>
public sealed class TeacherFeaturesTests : IDisposable
{
    private static readonly DinoSignatureModel.DinoModelSpec Spec = new(Width: 32, Seed: 5);
    private readonly string _folder = Directory.CreateTempSubdirectory("concerto-teacher-").FullName;

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    [Fact]
    public async Task StoredFeatures_MatchAnIndependentCropResizeNormaliseAndPatchEmbedding()
    {
        var modelPath = Path.Combine(_folder, "dino.onnx");
        DinoSignatureModel.Write(modelPath, Spec);
        var settings = FeaturizeSettings.Default with { BatchSize = 2 };
        using var model = TeacherModel.Open(settings, modelPath, OnnxDevice.Cpu, NullLogger.Instance);
        Assert.Equal(32, model.Width);

        // Sizes that crop differently: landscape, portrait with a side not a multiple of 37, and exactly 518.
        var images = new[] { (640, 480), (300, 517), (518, 518) }.Select((size, i) => WriteImage($"image{i}.png", size.Item1, size.Item2, i)).ToList();
        var timing = await ImageFeaturizer.RunAsync(model, images.Select((p, i) => new FeatureImage(p, $"out/{i}.npy")).ToList(), _folder, null,
            CancellationToken.None);
        Assert.Equal(3, timing.Images);

        var (weight, bias, _) = DinoSignatureModel.Parameters(Spec);
        for (var i = 0; i < images.Count; i++)
        {
            var (features, shape) = Npy.Read<Half>(Path.Combine(_folder, "out", $"{i}.npy"));
            Assert.Equal([37 * 37, 32], shape);
            var input = Preprocess(images[i]);
            double worst = 0;
            for (var token = 0; token < 37 * 37; token++)
            for (var d = 0; d < 32; d++)
            {
                var expected = Embed(input, weight, bias, token / 37, token % 37, d);
                worst = Math.Max(worst, Math.Abs((double)features[token * 32 + d] - expected) / Math.Max(1, Math.Abs(expected)));
            }

            Assert.True(worst < 2e-3, $"image {i}: worst relative error {worst:g3} (float16 keeps ~1e-3)");
        }
    }

    [Fact]
    public void Open_RefusesAModelWhoseLayoutDoesNotMatchTheSettings_BeforeAnyImage()
    {
        var twoRegisters = Path.Combine(_folder, "two-registers.onnx");
        DinoSignatureModel.Write(twoRegisters, Spec with { Registers = 2 });
        var error = Assert.Throws<BadInputException>(() => TeacherModel.Open(FeaturizeSettings.Default, twoRegisters, OnnxDevice.Cpu, NullLogger.Instance));
        Assert.Contains("of shape [1,1372,32]", error.Message, StringComparison.Ordinal);
        Assert.Contains("expect [1,1374,D] (5 leading tokens + 37x37 patch tokens)", error.Message, StringComparison.Ordinal);
        using (var fixedLayout = TeacherModel.Open(FeaturizeSettings.Default with { LeadingTokens = 3 }, twoRegisters, OnnxDevice.Cpu, NullLogger.Instance))
            Assert.Equal(32, fixedLayout.Width);

        var renamed = Path.Combine(_folder, "renamed.onnx");
        DinoSignatureModel.Write(renamed, Spec with { InputName = "images" });
        error = Assert.Throws<BadInputException>(() => TeacherModel.Open(FeaturizeSettings.Default, renamed, OnnxDevice.Cpu, NullLogger.Instance));
        Assert.Contains("one input named 'pixel_values'; its inputs are 'images' float[batch,3,height,width]: set featurize.inputName", error.Message,
            StringComparison.Ordinal);

        var notAModel = Path.Combine(_folder, "weights.onnx");
        File.WriteAllText(notAModel, "not a model");
        error = Assert.Throws<BadInputException>(() => TeacherModel.Open(FeaturizeSettings.Default, notAModel, OnnxDevice.Cpu, NullLogger.Instance));
        Assert.Contains(notAModel, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Identity_CoversTheWeightsAndThePreprocessing()
    {
        var path = Path.Combine(_folder, "dino.onnx");
        DinoSignatureModel.Write(path, Spec);
        string Identity(FeaturizeSettings s)
        {
            using var m = TeacherModel.Open(s, path, OnnxDevice.Cpu, NullLogger.Instance);
            return m.Identity;
        }

        var baseline = Identity(FeaturizeSettings.Default);
        Assert.Equal(baseline, Identity(FeaturizeSettings.Default with { BatchSize = 3 }));          // batching does not change numbers
        Assert.NotEqual(baseline, Identity(FeaturizeSettings.Default with { Mean = [0.5, 0.5, 0.5] }));
        DinoSignatureModel.Write(path, Spec with { Seed = 6 });
        Assert.NotEqual(baseline, Identity(FeaturizeSettings.Default));
    }

    private string WriteImage(string name, int width, int height, int seed)
    {
        var random = new Random(seed);
        using var image = new Mat(height, width, MatType.CV_8UC3);
        // Smooth gradients plus noise, so resizing matters and every patch differs.
        for (var y = 0; y < height; y++)
        for (var x = 0; x < width; x++)
            image.Set(y, x, new Vec3b((byte)(x * 255 / width), (byte)(y * 255 / height), (byte)random.Next(256)));
        var path = Path.Combine(_folder, name);
        Cv2.ImWrite(path, image);
        return path;
    }

    /// <summary>Concerto's preprocessing written out here: centre square of side k x 37, bilinear to 518, RGB, ImageNet
    /// mean and std; returns [3, 518, 518].</summary>
    private static float[] Preprocess(string path)
    {
        using var bgr = Cv2.ImRead(path, ImreadModes.Color);
        var side = Math.Min(bgr.Width, bgr.Height) / 37 * 37;
        using var square = bgr[new Rect((bgr.Width - side) / 2, (bgr.Height - side) / 2, side, side)];
        using var resized = new Mat();
        Cv2.Resize(square, resized, new Size(518, 518), 0, 0, InterpolationFlags.Linear);
        double[] mean = [0.485, 0.456, 0.406], std = [0.229, 0.224, 0.225];
        var input = new float[3 * 518 * 518];
        for (var y = 0; y < 518; y++)
        for (var x = 0; x < 518; x++)
        {
            var pixel = resized.At<Vec3b>(y, x);
            byte[] rgb = [pixel.Item2, pixel.Item1, pixel.Item0];
            for (var c = 0; c < 3; c++) input[(c * 518 + y) * 518 + x] = (float)((rgb[c] / 255.0 - mean[c]) / std[c]);
        }

        return input;
    }

    private static double Embed(float[] input, float[] weight, float[] bias, int row, int column, int d)
    {
        double sum = bias[d];
        for (var c = 0; c < 3; c++)
        for (var ky = 0; ky < 14; ky++)
        for (var kx = 0; kx < 14; kx++)
            sum += weight[((d * 3 + c) * 14 + ky) * 14 + kx] * input[(c * 518 + row * 14 + ky) * 518 + column * 14 + kx];
        return sum;
    }
}
