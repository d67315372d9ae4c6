using Concerto.Ingest.Core.Profiles;
using Concerto.Ingest.Train.Data;

namespace Concerto.Ingest.Train.Views;

/// <summary>An image's correspondences re-mapped to one view: row j says pixel (<see cref="U"/>[j], <see cref="V"/>[j])
/// of image <see cref="ImageIndex"/> (in the sample's <see cref="PointSample.Images"/>) sees view point
/// <see cref="PointIndex"/>[j], which falls in teacher patch <see cref="Patch"/>[j] = row * <see cref="Grid"/>.Columns + col.</summary>
public sealed record ViewImage(int ImageIndex, int Width, int Height, int[] PointIndex, float[] U, float[] V, int[] Patch, TeacherGrid Grid)
{
    public int Rows => PointIndex.Length;
}

/// <summary>Concerto's major view (spec section 3): centred on the mean of the points that have a correspondence, the
/// <c>maxPoints</c> nearest points; images left without correspondences in it are dropped. Only correspondences
/// whose pixel lies inside the teacher's centre crop count (the reference discards the others when it loads them:
/// they have no patch feature to predict).</summary>
public static class MajorView
{
    public const int DefaultMaxPoints = 65536;

    /// <summary>The major view and its images. When no point has an in-crop correspondence the centre is the centroid
    /// of all points and no image is returned (the view pipeline then draws a random first view instead).</summary>
    public static (PointSample View, IReadOnlyList<ViewImage> Images) Make(PointSample sample, int maxPoints = DefaultMaxPoints)
    {
        ArgumentNullException.ThrowIfNull(sample);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxPoints, 1);
        if (sample.Count == 0) throw new ArgumentException($"{sample.Key} has no points", nameof(sample));
        var indices = Select(sample, maxPoints) ?? Centroid(sample, maxPoints);
        return (PointSubset.Take(sample, indices), Remap(sample, indices));
    }

    /// <summary>Indices of the major view's points in <paramref name="sample"/>, or null when no point has an in-crop
    /// correspondence.</summary>
    public static int[]? Select(PointSample sample, int maxPoints = DefaultMaxPoints)
    {
        ArgumentNullException.ThrowIfNull(sample);
        var lookup = SampleIndexByStored(sample.SourceIndex);
        double x = 0, y = 0, z = 0;
        var count = 0;
        var seen = new bool[sample.Count];
        foreach (var image in sample.Images)
        {
            var rows = image.Correspondence;
            for (var r = 0; r + 2 < rows.Length; r += 3)
            {
                var i = Lookup(lookup, rows[r + 2]);
                if (i < 0 || seen[i] || image.PatchGrid.PatchOf(rows[r], rows[r + 1], image.Width, image.Height).Row < 0) continue;
                seen[i] = true;
                x += sample.Coord[3 * i];
                y += sample.Coord[3 * i + 1];
                z += sample.Coord[3 * i + 2];
                count++;
            }
        }

        if (count == 0) return null;
        return NearestPoints.Select(sample.Coord, (float)(x / count), (float)(y / count), (float)(z / count), maxPoints);
    }

    /// <summary>The sample's images re-mapped to the view holding the sample points <paramref name="viewIndices"/> (in
    /// that order): rows whose point is outside the view or whose pixel is outside the teacher crop are dropped, and
    /// images with no row left are dropped.</summary>
    public static IReadOnlyList<ViewImage> Remap(PointSample sample, ReadOnlySpan<int> viewIndices)
    {
        ArgumentNullException.ThrowIfNull(sample);
        var viewByStored = new int[MaxStored(sample.SourceIndex) + 1];
        Array.Fill(viewByStored, -1);
        for (var j = 0; j < viewIndices.Length; j++) viewByStored[sample.SourceIndex[viewIndices[j]]] = j;

        var result = new List<ViewImage>();
        var points = new List<int>();
        var us = new List<float>();
        var vs = new List<float>();
        var patches = new List<int>();
        for (var k = 0; k < sample.Images.Count; k++)
        {
            var image = sample.Images[k];
            var grid = image.PatchGrid;
            var rows = image.Correspondence;
            points.Clear();
            us.Clear();
            vs.Clear();
            patches.Clear();
            for (var r = 0; r + 2 < rows.Length; r += 3)
            {
                var j = Lookup(viewByStored, rows[r + 2]);
                if (j < 0) continue;
                var (row, col) = grid.PatchOf(rows[r], rows[r + 1], image.Width, image.Height);
                if (row < 0) continue;
                points.Add(j);
                us.Add(rows[r]);
                vs.Add(rows[r + 1]);
                patches.Add(row * grid.Columns + col);
            }

            if (points.Count > 0) result.Add(new ViewImage(k, image.Width, image.Height, [.. points], [.. us], [.. vs], [.. patches], grid));
        }

        return result;
    }

    /// <summary>The patch (row, col) of <paramref name="grid"/> (DINOv2's 37 x 37 when null) that sees pixel
    /// (<paramref name="u"/> = column, <paramref name="v"/> = row) of a width x height image, or (-1, -1) outside the
    /// teacher's crop (<see cref="TeacherGrid.PatchOf"/>, the mapping the featurize stage's crop implies).</summary>
    public static (int Row, int Col) PatchCoordinates(float u, float v, int width, int height, TeacherGrid? grid = null) =>
        (grid ?? TeacherGrid.Dinov2).PatchOf(u, v, width, height);

    private static int[] Centroid(PointSample sample, int maxPoints)
    {
        double x = 0, y = 0, z = 0;
        var c = sample.Coord;
        for (var i = 0; i < c.Length; i += 3)
        {
            x += c[i];
            y += c[i + 1];
            z += c[i + 2];
        }

        var n = sample.Count;
        return NearestPoints.Select(c, (float)(x / n), (float)(y / n), (float)(z / n), maxPoints);
    }

    private static int[] SampleIndexByStored(int[] sourceIndex)
    {
        var lookup = new int[MaxStored(sourceIndex) + 1];
        Array.Fill(lookup, -1);
        for (var i = 0; i < sourceIndex.Length; i++) lookup[sourceIndex[i]] = i;
        return lookup;
    }

    private static int MaxStored(int[] sourceIndex)
    {
        var max = -1;
        foreach (var s in sourceIndex)
        {
            if (s < 0) throw new ArgumentException($"negative stored point index {s}", nameof(sourceIndex));
            if (s > max) max = s;
        }

        return max;
    }

    /// <summary>lookup[stored index] for a correspondence's float point index; -1 for the sentinel row, indices the
    /// sample no longer holds, or values that are not indices.</summary>
    private static int Lookup(int[] lookup, float stored) => stored >= 0 && stored < lookup.Length ? lookup[(int)stored] : -1;
}
