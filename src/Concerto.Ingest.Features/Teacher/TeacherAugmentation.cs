using System.Runtime.InteropServices;
using OpenCvSharp;

namespace Concerto.Ingest.Features.Teacher;

/// <summary>Concerto's image-teacher augmentation (Pointcept's pretraining config: ImgChromaticJitter(p 0.95, std 0.05)
/// then ImgGaussianBlur(p 0.5)), on the teacher's input as RGB planes in [0, 1], before normalisation: with probability
/// 0.95 each channel is raised by its own uniform draw in [0, 0.05) and clipped to [0, 1]; with probability 0.5 every
/// plane is blurred by one 9 x 9 Gaussian of sigma uniform in [0.1, 2.0] (torchvision's kernel, reflected borders).
/// The official teacher sees a fresh draw every step; the featurize stage caches copies of it.</summary>
public static class TeacherAugmentation
{
    public const double JitterProbability = 0.95;
    public const double JitterRatio = 0.05;
    public const double BlurProbability = 0.5;
    public const int BlurKernel = 9;
    public const double BlurSigmaMin = 0.1;
    public const double BlurSigmaMax = 2.0;

    /// <summary>Augments 3 planes of <paramref name="size"/> x <paramref name="size"/> values in [0, 1] in place.</summary>
    public static void Apply(Span<float> planes, int size, Random random) => Apply(planes, size, size, random);

    /// <summary>Augments 3 planes of <paramref name="height"/> rows x <paramref name="width"/> values in [0, 1] in place.
    /// Draws, in order: the jitter coin, 3 channel shifts (only when it jitters), the blur coin, sigma (only when it
    /// blurs).</summary>
    public static void Apply(Span<float> planes, int height, int width, Random random)
    {
        ArgumentNullException.ThrowIfNull(random);
        var plane = height * width;
        if (planes.Length != 3 * plane) throw new ArgumentException($"{planes.Length} values are not 3 planes of {height} x {width}", nameof(planes));
        if (random.NextDouble() < JitterProbability)
        {
            for (var c = 0; c < 3; c++)
            {
                var shift = (float)(random.NextDouble() * JitterRatio);
                var values = planes.Slice(c * plane, plane);
                for (var i = 0; i < values.Length; i++) values[i] = Math.Clamp(values[i] + shift, 0f, 1f);
            }
        }

        if (random.NextDouble() < BlurProbability)
        {
            var sigma = BlurSigmaMin + random.NextDouble() * (BlurSigmaMax - BlurSigmaMin);
            var buffer = new float[plane];
            using var mat = new Mat(height, width, MatType.CV_32FC1);
            for (var c = 0; c < 3; c++)
            {
                var values = planes.Slice(c * plane, plane);
                values.CopyTo(buffer);
                Marshal.Copy(buffer, 0, mat.Data, plane);
                Cv2.GaussianBlur(mat, mat, new Size(BlurKernel, BlurKernel), sigma, sigma, BorderTypes.Reflect101);
                Marshal.Copy(mat.Data, buffer, 0, plane);
                buffer.CopyTo(values);
            }
        }
    }

    /// <summary>A stable seed for copy <paramref name="copy"/> of an image, from its output name (FNV-1a), so re-running
    /// the stage gives the same copies.</summary>
    public static int Seed(string name, int copy)
    {
        ArgumentNullException.ThrowIfNull(name);
        var hash = 2166136261u;
        foreach (var ch in name) hash = (hash ^ ch) * 16777619u;
        hash = (hash ^ (uint)copy) * 16777619u;
        return (int)(hash & int.MaxValue);
    }
}
