using System.Globalization;
using Concerto.Ingest.Formats.Arrays;

namespace Concerto.Ingest.Formats.Datasets;

/// <summary>A segment's image side (shared/spec/concerto.md section 4), one file per image i in each folder:
/// <c>color/i.&lt;ext&gt;</c>, <c>correspondence/i.npy</c> float32 M x 3 [column px, row px, point index] at the image's
/// resolution ([[-1, -1, -1]] when empty), <c>pose/i.npy</c> float32 4 x 4 camera-to-world (OpenCV axes),
/// <c>intrinsic/i.npy</c> float32 3 x 3, and in datasets with a teacher <c>feature/i.npy</c> float16 (grid tokens x D).</summary>
public static class SegmentImageFiles
{
    public const string ColorFolder = "color";
    public const string CorrespondenceFolder = "correspondence";
    public const string PoseFolder = "pose";
    public const string IntrinsicFolder = "intrinsic";
    public const string FeatureFolder = "feature";

    /// <summary>The folders a segment stage writes (features come later, from the featurize stage).</summary>
    public static readonly string[] Folders = [ColorFolder, CorrespondenceFolder, PoseFolder, IntrinsicFolder];

    private static readonly string[] ImageSidePrefixes = [.. Folders.Select(f => f + "/"), FeatureFolder + "/"];

    /// <summary>Whether <paramref name="relativePath"/> (with '/') lies in one of the image-side folders.</summary>
    public static bool IsImageSide(string relativePath)
    {
        ArgumentNullException.ThrowIfNull(relativePath);
        return ImageSidePrefixes.Any(p => relativePath.StartsWith(p, StringComparison.Ordinal));
    }

    public static string Name(int image) => image.ToString(CultureInfo.InvariantCulture);

    public static string Correspondence(int image) => $"{CorrespondenceFolder}/{Name(image)}.npy";

    public static string Feature(int image) => $"{FeatureFolder}/{Name(image)}.npy";

    /// <summary>Writes image <paramref name="image"/>'s correspondences, pose and intrinsics under <paramref name="folder"/>
    /// (its colour file is the caller's: copied or encoded).</summary>
    /// <param name="correspondences">Rows of [column, row, point]; empty writes the [[-1, -1, -1]] sentinel.</param>
    /// <param name="cameraToWorld">Row-major 4 x 4.</param>
    /// <param name="intrinsics">Row-major 3 x 3.</param>
    public static void WriteCamera(string folder, int image, float[] correspondences, IReadOnlyList<double> cameraToWorld, IReadOnlyList<double> intrinsics)
    {
        ArgumentNullException.ThrowIfNull(correspondences);
        ArgumentNullException.ThrowIfNull(cameraToWorld);
        ArgumentNullException.ThrowIfNull(intrinsics);
        foreach (var sub in Folders) Directory.CreateDirectory(Path.Combine(folder, sub));
        float[] rows = correspondences.Length == 0 ? [-1, -1, -1] : correspondences;
        Npy.Write<float>(Path.Combine(folder, Correspondence(image)), rows, rows.Length / 3, 3);
        Npy.Write<float>(Path.Combine(folder, PoseFolder, Name(image) + ".npy"), cameraToWorld.Select(v => (float)v).ToArray(), 4, 4);
        Npy.Write<float>(Path.Combine(folder, IntrinsicFolder, Name(image) + ".npy"), intrinsics.Select(v => (float)v).ToArray(), 3, 3);
    }

    /// <summary>Reads a correspondence file: rows of [column, row, point], the [[-1, -1, -1]] sentinel as none; every
    /// point must be a whole index below <paramref name="points"/>.</summary>
    /// <exception cref="InvalidDataException">The file is missing, malformed or names a point outside the cloud.</exception>
    public static float[] ReadCorrespondences(string path, int points)
    {
        var rows = NpyCheck.Check(path, NpyHeader.Float32, "float32", [-1, 3], "(M, 3)").Shape[0];
        var data = Npy.Read<float>(path).Data;
        if (rows == 1 && data[0] == -1 && data[1] == -1 && data[2] == -1) return [];
        for (var j = 0; j < rows; j++)
        {
            var point = data[3 * j + 2];
            if (!(point >= 0 && point < points && point == MathF.Floor(point)))
                throw new InvalidDataException($"{path} row {j} names point {point.ToString(CultureInfo.InvariantCulture)}; expected an integer index in [0, {points})");
        }

        return data;
    }
}
