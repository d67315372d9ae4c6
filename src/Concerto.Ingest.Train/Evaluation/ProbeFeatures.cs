using Concerto.Ingest.Train.Data;
using Concerto.Ingest.Train.Model;
using Concerto.Ingest.Train.Views;
using static TorchSharp.torch;

namespace Concerto.Ingest.Train.Evaluation;

/// <summary>What a linear probe reads for each point of a segment that has been grid-sampled (first point per voxel,
/// <paramref name="grid"/> its grid coordinates) and centre-shifted: [points, channels] float, in the caller's dispose
/// scope.</summary>
public delegate Tensor PointFeatures(PointSample view, int[] grid, double gridSize, Device device);

/// <summary>The feature sources of the linear-probing table (Concerto paper, Table 1): a frozen 3D encoder, the image
/// teacher's patch features lifted to the points, and the two side by side (the late-fusion baseline).</summary>
public static class ProbeFeatures
{
    /// <summary>The encoder's full up-cast features (every stage concatenated at stage 0), frozen.</summary>
    public static PointFeatures Encoder(PointTransformerV3 encoder, int seed)
    {
        ArgumentNullException.ThrowIfNull(encoder);
        return (view, grid, gridSize, device) =>
        {
            using var noGrad = no_grad();
            var coords = tensor(view.Coord, device: device).view(-1, 3);
            var input = new EncoderInput(tensor(ViewFeatures.Build(view), device: device).view(-1, 9), coords, coords, grid, new int[view.Count], gridSize);
            var levels = encoder.forward(input, new Random(seed));
            return PointTransformerV3.UpCast(levels, 0, levels.Count - 1);
        };
    }

    /// <summary>The "2D only" row: each point gets the mean of the image teacher's (plain) patch features over the
    /// patches that see it, through the segment's pixel-to-point correspondences, in every image; a point no image sees
    /// gets zeros. Every segment must carry features of one width.</summary>
    public static PointFeatures ImageTeacher(int width)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(width);
        return (view, _, _, device) => tensor(LiftPatchFeatures(view, width), device: device).view(view.Count, width);
    }

    /// <summary>Several sources side by side, channels concatenated in the given order.</summary>
    public static PointFeatures Concatenate(params PointFeatures[] parts)
    {
        ArgumentNullException.ThrowIfNull(parts);
        if (parts.Length == 0) throw new ArgumentException("nothing to concatenate", nameof(parts));
        return (view, grid, gridSize, device) => cat(parts.Select(p => p(view, grid, gridSize, device).to(float32)).ToArray(), 1);
    }

    /// <summary>Per point, the mean over every (image, correspondence) that sees it of the plain patch feature of the
    /// teacher patch its pixel falls in (<see cref="Core.Profiles.TeacherGrid.PatchOf"/>); zeros where none does.</summary>
    public static float[] LiftPatchFeatures(PointSample view, int width)
    {
        ArgumentNullException.ThrowIfNull(view);
        var lookup = new Dictionary<int, int>(view.Count);
        for (var i = 0; i < view.Count; i++) lookup[view.SourceIndex[i]] = i;
        var sums = new double[view.Count * width];
        var counts = new int[view.Count];
        foreach (var image in view.Images)
        {
            if (image.Feature is not { } feature) continue;
            if (image.FeatureWidth != width)
                throw new InvalidDataException($"segment {view.Key}: teacher features of width {image.FeatureWidth}, the probe reads {width}");
            var rows = image.Correspondence;
            for (var r = 0; r + 2 < rows.Length; r += 3)
            {
                if (!(rows[r + 2] >= 0) || !lookup.TryGetValue((int)rows[r + 2], out var i)) continue;
                var grid = image.PatchGrid;
                var (row, col) = grid.PatchOf(rows[r], rows[r + 1], image.Width, image.Height);
                if (row < 0) continue;
                var at = (row * grid.Columns + col) * width;
                for (var c = 0; c < width; c++) sums[i * width + c] += (float)feature[at + c];
                counts[i]++;
            }
        }

        var lifted = new float[view.Count * width];
        for (var i = 0; i < view.Count; i++)
            if (counts[i] > 0)
                for (var c = 0; c < width; c++) lifted[i * width + c] = (float)(sums[i * width + c] / counts[i]);
        return lifted;
    }
}
