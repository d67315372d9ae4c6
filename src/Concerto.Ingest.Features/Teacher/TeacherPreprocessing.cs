using Concerto.Ingest.Core.Media;
using Concerto.Ingest.Core.Profiles;
using OpenCvSharp;

namespace Concerto.Ingest.Features.Teacher;

/// <summary>Concerto's image-teacher input: centre-crop the largest box that is a whole number of pixels per patch of
/// the teacher's grid (<see cref="TeacherGrid.Crop"/>), bilinear resize to the grid's input width x height (OpenCV's
/// INTER_LINEAR: pixel centres aligned, no antialiasing, as torch's bilinear interpolate with align_corners=False), scale
/// to [0, 1] and normalise per channel; RGB planes (CHW).</summary>
public static class TeacherPreprocessing
{
    /// <summary>Reads an image file once and writes 1 + <see cref="FeaturizeSettings.AugmentedCopies"/> inputs back to
    /// back: the plain one, then each augmented copy (<see cref="TeacherAugmentation"/>) drawn from
    /// <paramref name="randomOfCopy"/>(copy), copy numbers from 1.</summary>
    public static void LoadCopies(string path, FeaturizeSettings settings, Span<float> destination, Func<int, Random> randomOfCopy)
    {
        ArgumentNullException.ThrowIfNull(settings);
        ArgumentNullException.ThrowIfNull(randomOfCopy);
        var values = 3 * settings.InputHeight * settings.InputWidth;
        if (destination.Length != (1 + settings.AugmentedCopies) * values)
            throw new ArgumentException($"destination holds {destination.Length} floats, expected {(1 + settings.AugmentedCopies) * values}");
        using var bgr = Read(path);
        if (settings.Grid.Crop(bgr.Width, bgr.Height) is null)
            throw new BadInputException($"{path}: a {bgr.Width}x{bgr.Height} image is smaller than the teacher's grid ({settings.Grid}); use a teacher with a coarser grid or larger keyframes.");
        Apply(bgr, settings, destination[..values]);
        for (var copy = 1; copy <= settings.AugmentedCopies; copy++)
            Apply(bgr, settings, destination.Slice(copy * values, values), randomOfCopy(copy));
    }

    private static Mat Read(string path)
    {
        var bgr = Cv2.ImRead(path, ImreadModes.Color);
        if (!bgr.Empty()) return bgr;
        bgr.Dispose();
        throw new BadInputException($"{path}: not a readable image; re-run the segment stage for its run (concerto ingest --force).");
    }

    /// <summary>Preprocesses an 8-bit BGR image; with <paramref name="augmentation"/>, the [0, 1] RGB planes are augmented
    /// (<see cref="TeacherAugmentation"/>) before they are normalised.</summary>
    public static TeacherCrop Apply(Mat bgr, FeaturizeSettings settings, Span<float> destination, Random? augmentation = null)
    {
        ArgumentNullException.ThrowIfNull(bgr);
        ArgumentNullException.ThrowIfNull(settings);
        var grid = settings.Grid;
        int height = grid.InputHeight, width = grid.InputWidth, plane = height * width;
        if (destination.Length != 3 * plane) throw new ArgumentException($"destination holds {destination.Length} floats, expected {3 * plane}");
        var crop = grid.Crop(bgr.Width, bgr.Height)
                   ?? throw new BadInputException($"a {bgr.Width}x{bgr.Height} image is smaller than the teacher's grid ({grid}): it needs at least {grid.Columns}x{grid.Rows} pixels");
        using var box = new Mat(bgr, new Rect(crop.X, crop.Y, crop.Width, crop.Height));
        using var resized = new Mat();
        Cv2.Resize(box, resized, new Size(width, height), 0, 0, InterpolationFlags.Linear);
        var pixels = new byte[3 * plane];
        System.Runtime.InteropServices.Marshal.Copy(resized.Data, pixels, 0, pixels.Length);

        Span<float> scale = stackalloc float[3];
        Span<float> offset = stackalloc float[3];
        for (var c = 0; c < 3; c++)
        {
            scale[c] = (float)(1.0 / (255.0 * settings.ChannelStd[c]));
            offset[c] = (float)(-settings.ChannelMean[c] / settings.ChannelStd[c]);
        }

        if (augmentation is not null)
        {
            // [0, 1] RGB planes, augmented, then normalised.
            for (var i = 0; i < plane; i++)
            for (var c = 0; c < 3; c++)
                destination[c * plane + i] = pixels[3 * i + 2 - c] / 255f;
            TeacherAugmentation.Apply(destination, height, width, augmentation);
            for (var c = 0; c < 3; c++)
            {
                var values = destination.Slice(c * plane, plane);
                float mean = (float)settings.ChannelMean[c], std = (float)settings.ChannelStd[c];
                for (var i = 0; i < plane; i++) values[i] = (values[i] - mean) / std;
            }

            return crop;
        }

        // BGR interleaved to RGB planes: output channel c is input channel 2 - c.
        for (var i = 0; i < plane; i++)
        for (var c = 0; c < 3; c++)
            destination[c * plane + i] = pixels[3 * i + 2 - c] * scale[c] + offset[c];
        return crop;
    }
}
