using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace Concerto.Ingest.Core.Datasets;

/// <summary>One named share of a dataset version.</summary>
public sealed record DatasetSplit(string Name, double Fraction);

/// <summary>Dataset splits, e.g. <c>train=0.9,val=0.1</c>. A segment's split depends only on its key and the seed (a hash
/// mapped to [0, 1) against the cumulative fractions), so it never changes when other segments come or go, and the same
/// key lands in the same split in every version made with the same seed and fractions.</summary>
public static class DatasetSplits
{
    public static IReadOnlyList<DatasetSplit> Default { get; } = [new("train", 1.0)];

    /// <exception cref="ArgumentException">Malformed text, a repeated or invalid name, a fraction outside (0, 1], or
    /// fractions that do not add up to 1.</exception>
    public static IReadOnlyList<DatasetSplit> Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var splits = new List<DatasetSplit>();
        foreach (var part in text.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
        {
            var pair = part.Split('=', StringSplitOptions.TrimEntries);
            if (pair.Length != 2 || !double.TryParse(pair[1], NumberStyles.Float, CultureInfo.InvariantCulture, out var fraction))
                throw new ArgumentException($"split '{part}' is not NAME=FRACTION (e.g. --split train=0.9,val=0.1)");
            if (pair[0].Length == 0 || !pair[0].All(c => char.IsAsciiLetterOrDigit(c) || c is '_' or '-'))
                throw new ArgumentException($"split name '{pair[0]}' must be letters, digits, '_' or '-' (it becomes a folder name)");
            if (!(fraction > 0 && fraction <= 1)) throw new ArgumentException($"split '{pair[0]}' has fraction {pair[1]}; each must be in (0, 1]");
            if (splits.Any(s => s.Name.Equals(pair[0], StringComparison.OrdinalIgnoreCase)))
                throw new ArgumentException($"split '{pair[0]}' is named twice");
            splits.Add(new DatasetSplit(pair[0], fraction));
        }

        if (splits.Count == 0) throw new ArgumentException("no splits given (e.g. --split train=0.9,val=0.1)");
        var total = splits.Sum(s => s.Fraction);
        if (Math.Abs(total - 1) > 1e-6)
            throw new ArgumentException($"split fractions add up to {total.ToString(CultureInfo.InvariantCulture)}, not 1");
        return splits;
    }

    /// <summary>The canonical text of <paramref name="splits"/> (what <see cref="Parse"/> reads back).</summary>
    public static string Format(IReadOnlyList<DatasetSplit> splits) =>
        string.Join(',', splits.Select(s => $"{s.Name}={s.Fraction.ToString("R", CultureInfo.InvariantCulture)}"));

    /// <summary>The split of a segment: SHA-256 of "seed:key" as a number in [0, 1), against the cumulative fractions.</summary>
    public static string Assign(string segmentKey, int seed, IReadOnlyList<DatasetSplit> splits)
    {
        ArgumentNullException.ThrowIfNull(segmentKey);
        ArgumentNullException.ThrowIfNull(splits);
        var hash = SHA256.HashData(Encoding.UTF8.GetBytes($"{seed.ToString(CultureInfo.InvariantCulture)}:{segmentKey}"));
        var position = (System.Buffers.Binary.BinaryPrimitives.ReadUInt64BigEndian(hash) >> 11) * (1.0 / (1UL << 53));
        var cumulative = 0.0;
        foreach (var split in splits)
        {
            cumulative += split.Fraction;
            if (position < cumulative) return split.Name;
        }

        return splits[^1].Name; // rounding: fractions that add to 1 - epsilon
    }
}
