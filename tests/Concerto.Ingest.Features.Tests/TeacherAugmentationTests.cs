using Concerto.Ingest.Core.Profiles;
using Concerto.Ingest.Features.Teacher;
using Concerto.Ingest.Formats.Arrays;
using Concerto.Ingest.Reconstruction.Onnx;
using Concerto.Ingest.Synthetic.Models;
using Microsoft.Extensions.Logging.Abstractions;
using OpenCvSharp;

namespace Concerto.Ingest.Features.Tests;

/// <summary>Issue 23, item 7: the official teacher's image augmentation, cached as feature copies at featurize.</summary>
public sealed class TeacherAugmentationTests : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("concerto-teacher-aug-").FullName;

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    /// <summary>A 15 x 15 image, black but for a white centre pixel. Draws: 0.1 (jitter, under 0.95), channel shifts
    /// 0.2, 0.4, 0.6 x 0.05 = 0.01, 0.02, 0.03; 0.3 (blur, under 0.5), sigma 0.1 + 0.5 x 1.9 = 1.05. The background
    /// becomes s (the shift), the centre stays 1 (clipped); the 9-tap Gaussian g (torchvision's kernel,
    /// exp(-x^2 / 2 sigma^2) normalised) then gives s + (1 - s) g0 g0 at the centre and s + (1 - s) g0 g1 beside it.</summary>
    [Fact]
    public void Apply_JittersThenBlurs_ByHand()
    {
        const int size = 15, centre = 7 * size + 7;
        var planes = new float[3 * size * size];
        for (var c = 0; c < 3; c++) planes[c * size * size + centre] = 1;

        TeacherAugmentation.Apply(planes, size, new FixedRandom(0.1, 0.2, 0.4, 0.6, 0.3, 0.5));

        var g = Enumerable.Range(-4, 9).Select(x => Math.Exp(-x * x / (2 * 1.05 * 1.05))).ToArray();
        var sum = g.Sum();
        double g0 = g[4] / sum, g1 = g[5] / sum;
        double[] shifts = [0.01, 0.02, 0.03];
        for (var c = 0; c < 3; c++)
        {
            var s = shifts[c];
            var plane = planes.AsSpan(c * size * size, size * size);
            Assert.Equal(s + (1 - s) * g0 * g0, plane[centre], 5);
            Assert.Equal(s + (1 - s) * g0 * g1, plane[centre + 1], 5);
            Assert.Equal(s + (1 - s) * g0 * g1, plane[centre - size], 5);
            Assert.Equal(s, plane[0], 5); // far from the centre: the background's shift alone
        }
    }

    /// <summary>Coins that miss (0.97 is not under 0.95, 0.6 not under 0.5) leave the image as it was.</summary>
    [Fact]
    public void Apply_LeavesTheImage_WhenNeitherCoinFalls()
    {
        var planes = Enumerable.Range(0, 3 * 100).Select(i => i % 7 / 7f).ToArray();
        var before = (float[])planes.Clone();
        TeacherAugmentation.Apply(planes, 10, new FixedRandom(0.97, 0.6));
        Assert.Equal(before, planes);
    }

    /// <summary>With augmentedCopies 2 each feature file is [3, 1369, D]: copy 0 is exactly the plain run's features,
    /// copies 1 and 2 differ from it and from each other, and a second run writes the same bytes (seeded by name).
    /// The teacher identity changes with the option, so plain features are never mistaken for augmented ones.</summary>
    [Fact]
    public async Task Featurize_WithAugmentedCopies_WritesThePlainFeaturesThenEachCopy()
    {
        var spec = new DinoSignatureModel.DinoModelSpec(Width: 16, Seed: 3);
        var modelPath = Path.Combine(_folder, "dino.onnx");
        DinoSignatureModel.Write(modelPath, spec);
        var images = Enumerable.Range(0, 2).Select(i => new FeatureImage(WriteImage($"image{i}.png", i), $"{i}.npy")).ToList();

        async Task<(Half[] Data, int[] Shape)[]> Run(FeaturizeSettings settings, string folder)
        {
            using var model = TeacherModel.Open(settings, modelPath, OnnxDevice.Cpu, NullLogger.Instance);
            await ImageFeaturizer.RunAsync(model, images, Path.Combine(_folder, folder), null, CancellationToken.None);
            return images.Select(i => Npy.Read<Half>(Path.Combine(_folder, folder, i.OutputFile))).ToArray();
        }

        var plain = await Run(FeaturizeSettings.Default, "plain");
        var augmented = await Run(FeaturizeSettings.Default with { AugmentedCopies = 2, BatchSize = 4 }, "augmented");
        var again = await Run(FeaturizeSettings.Default with { AugmentedCopies = 2, BatchSize = 3 }, "again");
        const int one = 1369 * 16;
        for (var i = 0; i < images.Count; i++)
        {
            Assert.Equal([1369, 16], plain[i].Shape);
            Assert.Equal([3, 1369, 16], augmented[i].Shape);
            Assert.Equal(plain[i].Data, augmented[i].Data[..one]);
            Assert.NotEqual(augmented[i].Data[..one], augmented[i].Data[one..(2 * one)]);
            Assert.NotEqual(augmented[i].Data[one..(2 * one)], augmented[i].Data[(2 * one)..]);
            Assert.Equal(augmented[i].Data, again[i].Data);
        }

        using var a = TeacherModel.Open(FeaturizeSettings.Default, modelPath, OnnxDevice.Cpu, NullLogger.Instance);
        using var b = TeacherModel.Open(FeaturizeSettings.Default with { AugmentedCopies = 2 }, modelPath, OnnxDevice.Cpu, NullLogger.Instance);
        Assert.NotEqual(a.Identity, b.Identity);
    }

    private string WriteImage(string name, int seed)
    {
        var random = new Random(seed);
        const int width = 400, height = 300;
        using var image = new Mat(height, width, MatType.CV_8UC3);
        for (var y = 0; y < height; y++)
        for (var x = 0; x < width; x++)
            image.Set(y, x, new Vec3b((byte)(x * 255 / width), (byte)random.Next(256), (byte)(y * 255 / height)));
        var path = Path.Combine(_folder, name);
        Cv2.ImWrite(path, image);
        return path;
    }

    /// <summary>A Random whose NextDouble returns the given values in order.</summary>
    private sealed class FixedRandom(params double[] values) : Random
    {
        private int _next;

        public override double NextDouble() => values[_next++];
    }
}
