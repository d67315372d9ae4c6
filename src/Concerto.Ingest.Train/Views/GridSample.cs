using System.Numerics;
using Concerto.Ingest.Train.Data;

namespace Concerto.Ingest.Train.Views;

/// <summary>Voxel grid sampling (spec section 1): grid_coord = floor((coord - min) / grid_size) with min over the
/// sample. Training keeps one random point per occupied voxel (Sonata's GridSample(0.02), section 2); evaluation keeps
/// the first point of each voxel, so it is deterministic. Voxels are found with a hash of packed long keys, O(N).</summary>
public static class GridSample
{
    /// <summary>Each axis of a grid coordinate stays below 2^21 so that three pack into one long key.</summary>
    public const int AxisLimit = 1 << 21;

    /// <summary>Grid coordinates (N x 3) relative to the sample's own minimum corner.</summary>
    public static int[] GridCoords(ReadOnlySpan<float> coord, double gridSize) => GridCoords(coord, gridSize, MinCorner(coord));

    /// <summary>Grid coordinates (N x 3) relative to <paramref name="min"/> (3 values), e.g. a batch's minimum corner.</summary>
    public static int[] GridCoords(ReadOnlySpan<float> coord, double gridSize, ReadOnlySpan<float> min)
    {
        if (!(gridSize > 0)) throw new ArgumentOutOfRangeException(nameof(gridSize), gridSize, "the grid size must be positive");
        if (coord.Length % 3 != 0) throw new ArgumentException($"{coord.Length} coordinate values are not 3 per point", nameof(coord));
        if (min.Length != 3) throw new ArgumentException("the minimum corner needs 3 values", nameof(min));
        var grid = new int[coord.Length];
        for (var i = 0; i < coord.Length; i++)
        {
            var g = Math.Floor((coord[i] - (double)min[i % 3]) / gridSize);
            if (!(g >= 0 && g < AxisLimit))
                throw new ArgumentException($"point {i / 3} falls in grid cell {g} on axis {i % 3}, outside [0, {AxisLimit}): use a coarser grid or check the coordinates");
            grid[i] = (int)g;
        }

        return grid;
    }

    /// <summary>The grid coordinates of the points at <paramref name="indices"/>. Grid coordinates of sampled points must
    /// come from the cloud they were sampled from: recomputed on the subset, whose minimum corner may differ, two kept
    /// points can fall into one voxel.</summary>
    public static int[] Subset(int[] grid, ReadOnlySpan<int> indices)
    {
        ArgumentNullException.ThrowIfNull(grid);
        var subset = new int[3 * indices.Length];
        for (var i = 0; i < indices.Length; i++) Array.Copy(grid, 3 * indices[i], subset, 3 * i, 3);
        return subset;
    }

    /// <summary>The per-axis minimum of N x 3 coordinates (zeros for no points).</summary>
    public static float[] MinCorner(ReadOnlySpan<float> coord)
    {
        float[] min = [float.PositiveInfinity, float.PositiveInfinity, float.PositiveInfinity];
        for (var i = 0; i < coord.Length; i++)
            if (coord[i] < min[i % 3]) min[i % 3] = coord[i];
        return coord.Length == 0 ? [0, 0, 0] : min;
    }

    /// <summary>One uniformly random point per occupied voxel (training), with all per-point arrays and source indices.</summary>
    public static PointSample Random(PointSample sample, double gridSize, Random random)
    {
        ArgumentNullException.ThrowIfNull(sample);
        return PointSubset.Take(sample, RandomIndices(sample.Coord, gridSize, random));
    }

    /// <summary>The first point (lowest index) of each occupied voxel (evaluation; deterministic).</summary>
    public static PointSample First(PointSample sample, double gridSize)
    {
        ArgumentNullException.ThrowIfNull(sample);
        return PointSubset.Take(sample, FirstIndices(sample.Coord, gridSize));
    }

    /// <summary>Indices of one uniformly random point per voxel, ascending. One draw per voxel, so a seed fixes the result.</summary>
    public static int[] RandomIndices(ReadOnlySpan<float> coord, double gridSize, Random random)
    {
        ArgumentNullException.ThrowIfNull(random);
        var voxel = VoxelIds(coord, gridSize, out var voxels);
        var count = new int[voxels];
        foreach (var v in voxel) count[v]++;
        var pick = new int[voxels];
        for (var v = 0; v < voxels; v++) pick[v] = random.Next(count[v]);

        // Reuse count as the running rank of each voxel's points; keep the point whose rank is the voxel's pick.
        Array.Clear(count);
        var chosen = new int[voxels];
        var next = 0;
        for (var i = 0; i < voxel.Length; i++)
        {
            var v = voxel[i];
            if (count[v]++ == pick[v]) chosen[next++] = i;
        }

        return chosen;
    }

    /// <summary>Indices of the first point of each voxel, ascending.</summary>
    public static int[] FirstIndices(ReadOnlySpan<float> coord, double gridSize)
    {
        var voxel = VoxelIds(coord, gridSize, out var voxels);
        var chosen = new int[voxels];
        var next = 0;
        for (var i = 0; i < voxel.Length; i++)
            if (voxel[i] == next) chosen[next++] = i; // voxel ids are numbered in order of first appearance
        return chosen;
    }

    /// <summary>A voxel id per point, numbered 0, 1, ... in order of first appearance. Open addressing with linear
    /// probing over a power-of-two table at most half full (several times faster than a Dictionary here).</summary>
    private static int[] VoxelIds(ReadOnlySpan<float> coord, double gridSize, out int voxels)
    {
        var grid = GridCoords(coord, gridSize);
        var n = grid.Length / 3;
        var ids = new int[n];
        var capacity = (int)BitOperations.RoundUpToPowerOf2((uint)Math.Max(16, 2 * n));
        var shift = 64 - BitOperations.Log2((uint)capacity);
        var mask = capacity - 1;
        var slotKey = new long[capacity]; // key + 1; 0 marks an empty slot
        var slotId = new int[capacity];
        voxels = 0;
        for (var i = 0; i < n; i++)
        {
            var key = 1 + ((long)(uint)grid[3 * i] | ((long)(uint)grid[3 * i + 1] << 21) | ((long)(uint)grid[3 * i + 2] << 42));
            var slot = (int)(((ulong)key * 0x9E3779B97F4A7C15UL) >> shift);
            while (slotKey[slot] != 0 && slotKey[slot] != key) slot = (slot + 1) & mask;
            if (slotKey[slot] == 0)
            {
                slotKey[slot] = key;
                slotId[slot] = voxels++;
            }

            ids[i] = slotId[slot];
        }

        return ids;
    }
}
