namespace Concerto.Ingest.Reconstruction.Fusion;

public enum ConfidenceMode
{
    /// <summary>Drop the lowest <see cref="ConfidenceFilterSettings.Percentile"/> % of the frame's valid pixels.</summary>
    Percentile,

    /// <summary>Keep pixels with confidence &gt;= <see cref="ConfidenceFilterSettings.Threshold"/>.</summary>
    Absolute,
}

/// <summary>Per-frame confidence filtering (VGGT demo default: drop the lowest 50%).</summary>
public sealed record ConfidenceFilterSettings(ConfidenceMode Mode = ConfidenceMode.Percentile, double Percentile = 50, double Threshold = 1.5)
{
    public void Validate()
    {
        if (!(Percentile >= 0 && Percentile <= 100)) throw new ArgumentOutOfRangeException(nameof(Percentile), Percentile, "percentile must be in [0, 100]");
        if (!double.IsFinite(Threshold)) throw new ArgumentOutOfRangeException(nameof(Threshold), Threshold, "threshold must be finite");
    }
}

/// <summary>Outcome for one frame: the valid pixel count, the kept count and confidence percentiles of the valid pixels
/// (null when the frame has no confidence or no valid pixel).</summary>
public sealed record ConfidenceFilterResult(int Valid, int Kept, float? P10, float? P50, float? P90);

public static class ConfidenceFilter
{
    /// <summary>Fills <paramref name="keep"/> (one entry per pixel) and reports the frame's statistics. Pixels with
    /// invalid depth or NaN confidence are never kept. In percentile mode exactly floor(P/100 * valid) pixels are
    /// dropped; among equal confidences at the cut the lower pixel indices are dropped first.</summary>
    public static ConfidenceFilterResult Apply(DepthFrame frame, ConfidenceFilterSettings settings, bool[] keep)
    {
        ArgumentNullException.ThrowIfNull(frame);
        ArgumentNullException.ThrowIfNull(settings);
        ArgumentNullException.ThrowIfNull(keep);
        settings.Validate();
        var depth = frame.Depth;
        if (keep.Length != depth.Length) throw new ArgumentException($"keep has {keep.Length} entries, expected {depth.Length}", nameof(keep));
        var conf = frame.Confidence;

        var valid = 0;
        for (var i = 0; i < depth.Length; i++)
        {
            keep[i] = DepthFrame.IsValidDepth(depth[i]) && (conf is null || !float.IsNaN(conf[i]));
            if (keep[i]) valid++;
        }

        if (conf is null || valid == 0) return new ConfidenceFilterResult(valid, valid, null, null, null);

        var values = new float[valid];
        for (int i = 0, j = 0; i < depth.Length; i++)
            if (keep[i]) values[j++] = conf[i];

        var kept = valid;
        if (settings.Mode == ConfidenceMode.Absolute)
        {
            var threshold = settings.Threshold;
            for (var i = 0; i < keep.Length; i++)
                if (keep[i] && conf[i] < threshold) { keep[i] = false; kept--; }
        }
        else
        {
            var drop = (int)Math.Floor(valid * settings.Percentile / 100.0);
            if (drop > 0)
            {
                // Cut value = the drop-th smallest; drop everything below it, then as many equal ones as needed in pixel order.
                var cut = Select(values.AsSpan(), drop - 1);
                var below = 0;
                foreach (var v in values)
                    if (v < cut) below++;
                var equalToDrop = drop - below;
                for (var i = 0; i < keep.Length; i++)
                {
                    if (!keep[i]) continue;
                    var c = conf[i];
                    if (c < cut || (c == cut && equalToDrop-- > 0)) keep[i] = false;
                }

                kept = valid - drop;
            }
        }

        // The percentiles are quality metrics: exact up to 2^15 values, from an even subsample above (a full sort of
        // every frame cost more than the rest of fusion).
        var stride = Math.Max(1, valid >> 15);
        var sample = new float[(valid + stride - 1) / stride];
        for (var j = 0; j < sample.Length; j++) sample[j] = values[j * stride];
        Array.Sort(sample);
        return new ConfidenceFilterResult(valid, kept, Quantile(sample, 0.1), Quantile(sample, 0.5), Quantile(sample, 0.9));
    }

    /// <summary>The k-th smallest value (0-based), partially reordering <paramref name="values"/> (quickselect with a
    /// median-of-three pivot; NaN-free input).</summary>
    internal static float Select(Span<float> values, int k)
    {
        int lo = 0, hi = values.Length - 1;
        while (hi > lo)
        {
            if (hi - lo < 16)
            {
                values[lo..(hi + 1)].Sort();
                return values[k];
            }

            var mid = lo + ((hi - lo) >> 1);
            if (values[mid] < values[lo]) (values[mid], values[lo]) = (values[lo], values[mid]);
            if (values[hi] < values[lo]) (values[hi], values[lo]) = (values[lo], values[hi]);
            if (values[hi] < values[mid]) (values[hi], values[mid]) = (values[mid], values[hi]);
            var pivot = values[mid];
            int i = lo, j = hi;
            while (i <= j)
            {
                while (values[i] < pivot) i++;
                while (values[j] > pivot) j--;
                if (i <= j)
                {
                    (values[i], values[j]) = (values[j], values[i]);
                    i++;
                    j--;
                }
            }

            if (k <= j) hi = j;
            else if (k >= i) lo = i;
            else return values[k];
        }

        return values[k];
    }

    /// <summary>Linear interpolation between order statistics (numpy's default).</summary>
    public static float Quantile(ReadOnlySpan<float> sorted, double q)
    {
        if (sorted.IsEmpty) throw new ArgumentException("no values", nameof(sorted));
        var pos = q * (sorted.Length - 1);
        var lo = (int)Math.Floor(pos);
        var hi = Math.Min(lo + 1, sorted.Length - 1);
        return (float)(sorted[lo] + (pos - lo) * (sorted[hi] - sorted[lo]));
    }
}
