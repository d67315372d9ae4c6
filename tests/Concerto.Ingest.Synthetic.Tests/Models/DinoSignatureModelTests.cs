using Concerto.Ingest.Synthetic.Models;
using Microsoft.ML.OnnxRuntime;
using static Concerto.Ingest.Synthetic.Models.DinoSignatureModel;

namespace Concerto.Ingest.Synthetic.Tests.Models;

public sealed class DinoSignatureModelTests : IDisposable
{
    private static readonly float[] Mean = [0.485f, 0.456f, 0.406f];
    private static readonly float[] Std = [0.229f, 0.224f, 0.225f];
    private readonly string _folder = Directory.CreateTempSubdirectory("concerto-dino-").FullName;

    public void Dispose() => Directory.Delete(_folder, true);

    [Fact]
    public void Write_GivesConvolvedPatchesTheirMeanAndConstantRegisters_ForABatchOfTwo()
    {
        var spec = new DinoModelSpec(Width: 32, Seed: 5);
        var pixels = Pixels(2, 518, 518, seed: 1);
        var (shape, features) = Run(spec, pixels, 2, 518, 518);
        AssertFeatures(spec, pixels, 2, 518, 518, shape, features);
    }

    [Fact]
    public void Write_TakesAnyHeightAndWidth_WhenSizeIsDynamic()
    {
        var spec = new DinoModelSpec(Width: 32, Seed: 6);
        var pixels = Pixels(1, 280, 518, seed: 2);
        var (shape, features) = Run(spec, pixels, 1, 280, 518);
        Assert.Equal([1L, 1 + 4 + 20 * 37, 32], shape);                 // 20 rows of 37 patches
        AssertFeatures(spec, pixels, 1, 280, 518, shape, features);
    }

    [Fact]
    public void Write_DeclaresAFixedInput_AtDinoSmallWidth()
    {
        var spec = new DinoModelSpec(Width: 384, FixedSize: true);
        var path = Path.Combine(_folder, "fixed.onnx");
        DinoSignatureModel.Write(path, spec);
        using (var session = new InferenceSession(path))
        {
            Assert.Equal([-1, 3, 518, 518], session.InputMetadata["pixel_values"].Dimensions);
            Assert.Equal([-1, 1 + 4 + 37 * 37, 384], session.OutputMetadata["last_hidden_state"].Dimensions);
        }

        var pixels = Pixels(1, 518, 518, seed: 3);
        var (shape, features) = Run(spec, pixels, 1, 518, 518);
        AssertFeatures(spec, pixels, 1, 518, 518, shape, features);
    }

    [Fact]
    public void Write_LeavesFeaturesUnchanged_WithWorkLayersAndOtherNames()
    {
        var plain = new DinoModelSpec(Width: 32, Registers: 0, Seed: 8, FixedSize: true);
        var worked = plain with { WorkLayers = 2, InputName = "images", OutputName = "features" };
        var pixels = Pixels(1, 518, 518, seed: 4);
        var (plainShape, plainFeatures) = Run(plain, pixels, 1, 518, 518);
        var (workedShape, workedFeatures) = Run(worked, pixels, 1, 518, 518);
        Assert.Equal([1L, 1 + 37 * 37, 32], plainShape);                  // no registers: plain DINOv2's layout
        Assert.Equal(plainShape, workedShape);
        // Patch tokens bit for bit; ORT sums the CLS mean in another order once the patches have more consumers.
        Assert.Equal(plainFeatures.AsSpan(32), workedFeatures.AsSpan(32));
        for (var c = 0; c < 32; c++) Assert.Equal(plainFeatures[c], workedFeatures[c], 1e-6f);
        Assert.Equal(DinoSignatureModel.Parameters(plain).Weight, DinoSignatureModel.Parameters(worked).Weight);
    }

    [Fact]
    public void Write_GivesIdenticalBytes_ForTheSameSpec()
    {
        var spec = new DinoModelSpec(Width: 16, WorkLayers: 1, Seed: 9);
        DinoSignatureModel.Write(Path.Combine(_folder, "a.onnx"), spec);
        DinoSignatureModel.Write(Path.Combine(_folder, "b.onnx"), spec);
        DinoSignatureModel.Write(Path.Combine(_folder, "c.onnx"), spec with { Seed = 10 });
        var a = File.ReadAllBytes(Path.Combine(_folder, "a.onnx"));
        Assert.Equal(a, File.ReadAllBytes(Path.Combine(_folder, "b.onnx")));
        Assert.NotEqual(a, File.ReadAllBytes(Path.Combine(_folder, "c.onnx")));
    }

    private (long[] Shape, float[] Features) Run(DinoModelSpec spec, float[] pixels, int batch, int height, int width)
    {
        var path = Path.Combine(_folder, $"{Guid.NewGuid():N}.onnx");
        DinoSignatureModel.Write(path, spec);
        using var session = new InferenceSession(path);
        using var input = OrtValue.CreateTensorValueFromMemory(pixels, [batch, 3, height, width]);
        using var options = new RunOptions();
        using var outputs = session.Run(options, [spec.InputName], [input], [spec.OutputName]);
        return (outputs[0].GetTensorTypeAndShape().Shape, outputs[0].GetTensorDataAsSpan<float>().ToArray());
    }

    /// <summary>Shape, then every patch token against a convolution computed here from <see cref="DinoSignatureModel.Parameters"/>
    /// (1e-4 relative, absolute below 1), CLS against the mean of the patch tokens, registers exactly.</summary>
    private static void AssertFeatures(DinoModelSpec spec, float[] pixels, int batch, int height, int width, long[] shape, float[] features)
    {
        int d = spec.Width, r = spec.Registers, rows = height / Patch, cols = width / Patch, patches = rows * cols, tokens = 1 + r + patches;
        Assert.Equal([batch, tokens, d], shape);
        var (weight, bias, registers) = DinoSignatureModel.Parameters(spec);
        var window = new float[3 * Patch * Patch];
        for (var b = 0; b < batch; b++)
        {
            var image = pixels.AsSpan(b * 3 * height * width, 3 * height * width);
            var output = features.AsSpan(b * tokens * d, tokens * d);
            var mean = new double[d];
            for (var row = 0; row < rows; row++)
            for (var col = 0; col < cols; col++)
            {
                for (var ch = 0; ch < 3; ch++)
                for (var ky = 0; ky < Patch; ky++)
                    image.Slice((ch * height + row * Patch + ky) * width + col * Patch, Patch).CopyTo(window.AsSpan((ch * Patch + ky) * Patch));
                var token = output.Slice((1 + r + row * cols + col) * d, d);
                for (var c = 0; c < d; c++)
                {
                    double expected = bias[c];
                    var kernel = weight.AsSpan(c * window.Length, window.Length);
                    for (var i = 0; i < window.Length; i++) expected += kernel[i] * (double)window[i];
                    Assert.True(Math.Abs(token[c] - expected) <= 1e-4 * Math.Max(Math.Abs(expected), 1),
                        $"image {b}, patch ({row}, {col}), channel {c}: {token[c]} vs {expected}");
                    mean[c] += token[c] / (double)patches;
                }
            }

            for (var c = 0; c < d; c++)
                Assert.True(Math.Abs(output[c] - mean[c]) <= 1e-5 * Math.Max(Math.Abs(mean[c]), 1), $"image {b}, CLS channel {c}: {output[c]} vs {mean[c]}");
            Assert.Equal(registers, output.Slice(d, r * d).ToArray());
        }
    }

    /// <summary>Random RGB in [0, 1], ImageNet-normalised as the exports expect.</summary>
    private static float[] Pixels(int batch, int height, int width, int seed)
    {
        var random = new Random(seed);
        var plane = height * width;
        var pixels = new float[batch * 3 * plane];
        for (var i = 0; i < pixels.Length; i++)
        {
            var ch = i / plane % 3;
            pixels[i] = ((float)random.NextDouble() - Mean[ch]) / Std[ch];
        }

        return pixels;
    }
}
