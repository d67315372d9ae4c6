namespace Concerto.Ingest.Train.Sparse;

/// <summary>The neighbour pairs of a submanifold 3x3x3 convolution over occupied voxels: for each of the 27 offsets,
/// which input voxel feeds which output voxel. Built once per stage from a hash of the grid coordinates and reused by
/// every block of the stage (the voxels do not change between pooling steps).</summary>
public sealed class KernelMap
{
    public const int Offsets = 27;

    private KernelMap(int voxels, int[][] inputs, int[][] outputs) => (Voxels, Inputs, Outputs) = (voxels, inputs, outputs);

    public int Voxels { get; }

    /// <summary>Inputs[k][j] is the voxel read for output voxel Outputs[k][j] at offset k.</summary>
    public IReadOnlyList<int[]> Inputs { get; }

    public IReadOnlyList<int[]> Outputs { get; }

    /// <summary>Offset k = (dx, dy, dz) with dx = k / 9 - 1, dy = k / 3 % 3 - 1, dz = k % 3 - 1 (the index of a
    /// [3, 3, 3] kernel in x, y, z order; k = 13 is the centre).</summary>
    public static (int Dx, int Dy, int Dz) Offset(int k) => (k / 9 - 1, k / 3 % 3 - 1, k % 3 - 1);

    /// <summary>Grid coordinates are below 2^16 on every axis (PTv3's serialization depth is at most 16 bits).</summary>
    public const int CoordinateLimit = 1 << 16;

    /// <summary>Builds the map for points at grid coordinates (N x 3, each axis in [0, 2^16)) in batch samples (which
    /// never neighbour each other). Points normally occupy distinct voxels; where several share one (jittered masked
    /// points), the first of them stands for the voxel as every output's input at that position, as in spconv's
    /// hashed indices: each of them still gets an output, and the others' features feed no output.</summary>
    public static KernelMap Build(ReadOnlySpan<int> gridCoord, ReadOnlySpan<int> batch)
    {
        var n = batch.Length;
        if (gridCoord.Length != 3 * n) throw new ArgumentException($"{gridCoord.Length} grid values for {n} voxels; expected 3 per voxel");
        var index = new Dictionary<long, int>(n);
        for (var i = 0; i < n; i++)
        {
            index.TryAdd(Key(batch[i], gridCoord[3 * i], gridCoord[3 * i + 1], gridCoord[3 * i + 2]), i);
        }

        var inputs = new int[Offsets][];
        var outputs = new int[Offsets][];
        var pairsIn = new List<int>(n);
        var pairsOut = new List<int>(n);
        for (var k = 0; k < Offsets; k++)
        {
            var (dx, dy, dz) = Offset(k);
            pairsIn.Clear();
            pairsOut.Clear();
            for (var i = 0; i < n; i++)
            {
                int x = gridCoord[3 * i] + dx, y = gridCoord[3 * i + 1] + dy, z = gridCoord[3 * i + 2] + dz;
                if ((uint)x >= CoordinateLimit || (uint)y >= CoordinateLimit || (uint)z >= CoordinateLimit) continue;
                if (!index.TryGetValue(Key(batch[i], x, y, z), out var neighbour)) continue;
                pairsIn.Add(neighbour);
                pairsOut.Add(i);
            }

            inputs[k] = [.. pairsIn];
            outputs[k] = [.. pairsOut];
        }

        return new KernelMap(n, inputs, outputs);
    }

    private static long Key(int batch, int x, int y, int z)
    {
        if ((uint)x >= CoordinateLimit || (uint)y >= CoordinateLimit || (uint)z >= CoordinateLimit)
            throw new ArgumentOutOfRangeException(nameof(x), $"grid coordinate ({x}, {y}, {z}) outside [0, {CoordinateLimit})");
        return ((long)batch << 48) | ((long)x << 32) | ((long)y << 16) | (long)z;
    }
}
