using System.Numerics;

namespace Concerto.Ingest.Train.Serialization;

/// <summary>The space-filling curves PTv3 orders points by. "-trans" variants encode (y, x, z) instead of (x, y, z).</summary>
public enum SerializationOrder
{
    Z,
    ZTrans,
    Hilbert,
    HilbertTrans,
}

/// <summary>A serialization of a batch of points: each point's code, the order that sorts them, and its inverse
/// (<c>Order[Inverse[i]] == i</c>).</summary>
public sealed record Serialized(SerializationOrder Curve, int Depth, long[] Codes, int[] Order, int[] Inverse);

/// <summary>PTv3's point serialization (shared/spec/concerto.md section 1): grid coordinates to z-order or Hilbert codes
/// of <c>depth</c> bits per axis, prefixed by the batch index, and the permutation that sorts them.</summary>
public static class PointSerialization
{
    /// <summary>The default order set; blocks use order i mod 4 (shuffled each forward pass).</summary>
    public static IReadOnlyList<SerializationOrder> All { get; } =
        [SerializationOrder.Z, SerializationOrder.ZTrans, SerializationOrder.Hilbert, SerializationOrder.HilbertTrans];

    /// <summary>Bits per axis for grid coordinates up to <paramref name="maxCoordinate"/>: bit_length(max + 1).</summary>
    public static int Depth(int maxCoordinate)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(maxCoordinate);
        var depth = 32 - BitOperations.LeadingZeroCount((uint)maxCoordinate + 1);
        if (depth > 16) throw new ArgumentOutOfRangeException(nameof(maxCoordinate), maxCoordinate, "grid coordinates need more than 16 bits: use a coarser grid");
        return depth;
    }

    /// <summary>z-order: bit i of x goes to position 3i + 2, of y to 3i + 1, of z to 3i.</summary>
    public static long ZOrder(int x, int y, int z, int depth)
    {
        long code = 0;
        for (var i = 0; i < depth; i++)
            code |= ((long)((x >> i) & 1) << (3 * i + 2)) | ((long)((y >> i) & 1) << (3 * i + 1)) | ((long)((z >> i) & 1) << (3 * i));
        return code;
    }

    /// <summary>Hilbert index by Skilling's transposed-axes method, axes (x, y, z) as dims 0, 1, 2: from the most
    /// significant bit down, where a dim's bit is set invert the lower bits of dim 0, else swap the lower bits of dim 0
    /// and that dim; then interleave bit-major (the Gray code of the index) and convert Gray to binary by prefix XOR.</summary>
    public static long Hilbert(int x, int y, int z, int depth)
    {
        Span<int> axes = [x, y, z];
        for (var bit = depth - 1; bit > 0; bit--)
        {
            var lower = (1 << bit) - 1;
            for (var dim = 0; dim < 3; dim++)
            {
                if (((axes[dim] >> bit) & 1) != 0)
                {
                    axes[0] ^= lower;
                }
                else
                {
                    var swap = (axes[0] ^ axes[dim]) & lower;
                    axes[0] ^= swap;
                    axes[dim] ^= swap;
                }
            }
        }

        long gray = 0;
        for (var bit = depth - 1; bit >= 0; bit--)
        for (var dim = 0; dim < 3; dim++)
            gray = (gray << 1) | (long)((axes[dim] >> bit) & 1);

        // Gray to binary: each bit is the XOR of itself and every more significant bit.
        var binary = gray;
        for (var shift = 1; shift < 3 * depth; shift <<= 1) binary ^= binary >> shift;
        return binary;
    }

    /// <summary>Codes <c>(batch &lt;&lt; 3 depth) | curve(x, y, z)</c> for grid coordinates (N x 3) and batch indices, with
    /// the sorting order and its inverse.</summary>
    public static Serialized Serialize(ReadOnlySpan<int> gridCoord, ReadOnlySpan<int> batch, SerializationOrder curve, int depth)
    {
        var n = batch.Length;
        if (gridCoord.Length != 3 * n) throw new ArgumentException($"{gridCoord.Length} grid values for {n} points; expected 3 per point");
        if (n > 0 && 3 * depth + (32 - BitOperations.LeadingZeroCount((uint)MaxOf(batch))) > 63)
            throw new ArgumentException($"depth {depth} and the batch size do not fit a 63-bit code");
        var codes = new long[n];
        for (var i = 0; i < n; i++)
        {
            int x = gridCoord[3 * i], y = gridCoord[3 * i + 1], z = gridCoord[3 * i + 2];
            var code = curve switch
            {
                SerializationOrder.Z => ZOrder(x, y, z, depth),
                SerializationOrder.ZTrans => ZOrder(y, x, z, depth),
                SerializationOrder.Hilbert => Hilbert(x, y, z, depth),
                _ => Hilbert(y, x, z, depth),
            };
            codes[i] = ((long)batch[i] << (3 * depth)) | code;
        }

        var order = Enumerable.Range(0, n).ToArray();
        Array.Sort(codes.ToArray(), order); // sorts a copy of the codes, permuting the indices alongside
        var inverse = new int[n];
        for (var i = 0; i < n; i++) inverse[order[i]] = i;
        return new Serialized(curve, depth, codes, order, inverse);
    }

    private static int MaxOf(ReadOnlySpan<int> values)
    {
        var max = 0;
        foreach (var v in values) max = Math.Max(max, v);
        return max;
    }
}
