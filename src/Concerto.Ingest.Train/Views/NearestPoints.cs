namespace Concerto.Ingest.Train.Views;

/// <summary>The k points nearest to a centre by squared Euclidean distance, by quickselect (expected O(N), no full
/// sort): the view crop of Sonata's multi-view generator and Concerto's major view.</summary>
public static class NearestPoints
{
    /// <summary>Indices of the <paramref name="count"/> points of <paramref name="coord"/> (N x 3) nearest to
    /// (<paramref name="x"/>, <paramref name="y"/>, <paramref name="z"/>). The order of the result is unspecified (not
    /// by distance); ties at the cut are broken deterministically. All points when count &gt;= N.</summary>
    public static int[] Select(ReadOnlySpan<float> coord, float x, float y, float z, int count)
    {
        if (coord.Length % 3 != 0) throw new ArgumentException($"{coord.Length} coordinate values are not 3 per point", nameof(coord));
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        var n = coord.Length / 3;
        var index = new int[n];
        for (var i = 0; i < n; i++) index[i] = i;
        if (count >= n) return index;
        if (count == 0) return [];

        var distance = new float[n];
        for (var i = 0; i < n; i++)
        {
            float dx = coord[3 * i] - x, dy = coord[3 * i + 1] - y, dz = coord[3 * i + 2] - z;
            distance[i] = dx * dx + dy * dy + dz * dz;
        }

        PartialSelect(distance, index, count - 1);
        return index.AsSpan(0, count).ToArray();
    }

    /// <summary>Reorders <paramref name="key"/> (and <paramref name="value"/> alongside) so that position k holds the
    /// value it would hold sorted, everything before it is &lt;= and everything after &gt;= (Hoare partition,
    /// median-of-three pivot).</summary>
    internal static void PartialSelect(float[] key, int[] value, int k)
    {
        int lo = 0, hi = key.Length - 1;
        while (hi > lo)
        {
            var mid = lo + (hi - lo) / 2;
            if (key[mid] < key[lo]) Swap(key, value, mid, lo);
            if (key[hi] < key[lo]) Swap(key, value, hi, lo);
            if (key[hi] < key[mid]) Swap(key, value, hi, mid);
            var pivot = key[mid];
            int i = lo, j = hi;
            while (i <= j)
            {
                while (key[i] < pivot) i++;
                while (key[j] > pivot) j--;
                if (i <= j)
                {
                    Swap(key, value, i, j);
                    i++;
                    j--;
                }
            }

            // Now [lo, j] <= pivot <= [i, hi], and anything strictly between j and i equals the pivot.
            if (k <= j) hi = j;
            else if (k >= i) lo = i;
            else return;
        }
    }

    private static void Swap(float[] key, int[] value, int a, int b)
    {
        (key[a], key[b]) = (key[b], key[a]);
        (value[a], value[b]) = (value[b], value[a]);
    }
}
