using System.Numerics;
using System.Runtime.CompilerServices;

namespace Concerto.Ingest.Reconstruction.Fusion;

/// <summary>Integer grid coordinates packed as three 21-bit fields (each offset by 2^20), and an open-addressing
/// map from such keys to dense indices: no per-entry allocation, unlike Dictionary's entries plus rehash churn.</summary>
internal static class VoxelKey
{
    public const int Half = 1 << 20;

    /// <summary>True when every coordinate lies in [-2^20, 2^20).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static bool InRange(long x, long y, long z) => (ulong)(x + Half) < 2 * Half && (ulong)(y + Half) < 2 * Half && (ulong)(z + Half) < 2 * Half;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static long Pack(long x, long y, long z) => ((x + Half) << 42) | ((y + Half) << 21) | (z + Half);

    public static (int X, int Y, int Z) Unpack(long key) =>
        ((int)(key >> 42) - Half, (int)((key >> 21) & (2 * Half - 1)) - Half, (int)(key & (2 * Half - 1)) - Half);
}

internal sealed class VoxelKeyMap
{
    private long[] _keys;
    private int[] _values;
    private int _mask;

    public VoxelKeyMap(int expected)
    {
        var capacity = (int)BitOperations.RoundUpToPowerOf2((uint)Math.Max(16, expected * 2));
        _keys = new long[capacity];
        _values = new int[capacity];
        Array.Fill(_keys, -1L);
        _mask = capacity - 1;
    }

    public int Count { get; private set; }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static int Hash(long key, int mask) => (int)((ulong)key * 0x9E3779B97F4A7C15UL >> 32) & mask;

    /// <summary>The index stored for <paramref name="key"/>, or -1.</summary>
    public int Find(long key)
    {
        for (var slot = Hash(key, _mask); ; slot = (slot + 1) & _mask)
        {
            var k = _keys[slot];
            if (k == key) return _values[slot];
            if (k == -1) return -1;
        }
    }

    /// <summary>The index stored for <paramref name="key"/>; when absent, stores <see cref="Count"/> and returns it.</summary>
    public int GetOrAdd(long key, out bool added)
    {
        if (2 * (Count + 1) > _keys.Length) Grow();
        for (var slot = Hash(key, _mask); ; slot = (slot + 1) & _mask)
        {
            var k = _keys[slot];
            if (k == key) { added = false; return _values[slot]; }
            if (k == -1)
            {
                _keys[slot] = key;
                _values[slot] = Count;
                added = true;
                return Count++;
            }
        }
    }

    private void Grow()
    {
        var (oldKeys, oldValues) = (_keys, _values);
        _keys = new long[oldKeys.Length * 2];
        _values = new int[oldKeys.Length * 2];
        Array.Fill(_keys, -1L);
        _mask = _keys.Length - 1;
        for (var i = 0; i < oldKeys.Length; i++)
        {
            if (oldKeys[i] == -1) continue;
            var slot = Hash(oldKeys[i], _mask);
            while (_keys[slot] != -1) slot = (slot + 1) & _mask;
            _keys[slot] = oldKeys[i];
            _values[slot] = oldValues[i];
        }
    }
}
