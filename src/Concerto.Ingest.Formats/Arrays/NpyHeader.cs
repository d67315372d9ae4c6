using System.Buffers.Binary;
using System.Globalization;
using System.Text;

namespace Concerto.Ingest.Formats.Arrays;

/// <summary>The header of a .npy file (format 1.x). Read alone, without the data, it lets a loader pick the element type
/// (segment labels come as int32 or int64) and check shapes before reading; <see cref="Npy.Read{T}"/> parses it too.</summary>
/// <param name="Descr">NumPy type descriptor, e.g. "&lt;f4", "|u1", "&lt;f2".</param>
/// <param name="FortranOrder">True for column-major data, which the loader rejects.</param>
/// <param name="Shape">Array dimensions.</param>
public sealed record NpyHeader(string Descr, bool FortranOrder, int[] Shape)
{
    public const string Float16 = "<f2";
    public const string Float32 = "<f4";
    public const string UInt8 = "|u1";
    public const string Int32 = "<i4";
    public const string Int64 = "<i8";

    /// <summary>Reads the header of <paramref name="path"/>.</summary>
    /// <exception cref="InvalidDataException">The file is not a .npy file of format version 1.</exception>
    public static NpyHeader Read(string path)
    {
        using var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, bufferSize: 1);
        return Read(file).Header;
    }

    /// <summary>Reads the header at the start of <paramref name="file"/>; returns it and the data's offset in bytes.</summary>
    /// <exception cref="InvalidDataException">The stream does not hold a .npy file of format version 1.</exception>
    public static (NpyHeader Header, int DataOffset) Read(Stream file)
    {
        ArgumentNullException.ThrowIfNull(file);
        Span<byte> prefix = stackalloc byte[10];
        if (file.ReadAtLeast(prefix, prefix.Length, throwOnEndOfStream: false) < prefix.Length
            || prefix[0] != 0x93 || !prefix.Slice(1, 5).SequenceEqual("NUMPY"u8))
            throw new InvalidDataException("not a .npy file (no NUMPY magic)");
        if (prefix[6] != 1)
            throw new InvalidDataException($"npy format version {prefix[6]}.{prefix[7]}; only 1.x is read (numpy.save writes 1.0 for these arrays)");
        var length = BinaryPrimitives.ReadUInt16LittleEndian(prefix[8..]);
        var bytes = new byte[length];
        if (file.ReadAtLeast(bytes, length, throwOnEndOfStream: false) < length) throw new InvalidDataException("npy header is truncated");
        return (Parse(Encoding.ASCII.GetString(bytes)), prefix.Length + length);
    }

    /// <summary>Parses the header's Python dict literal, e.g. {'descr': '&lt;f4', 'fortran_order': False, 'shape': (3, 3), }.</summary>
    public static NpyHeader Parse(string header)
    {
        var descr = ValueAfter(header, "descr");
        if (descr.Length < 2 || descr[0] is not ('\'' or '"')) throw new InvalidDataException($"npy header has no descr string: {header.Trim()}");
        var end = descr.IndexOf(descr[0], 1);
        if (end < 0) throw new InvalidDataException($"npy header has an unterminated descr: {header.Trim()}");
        var fortran = ValueAfter(header, "fortran_order").StartsWith("True", StringComparison.Ordinal);
        var shapeText = ValueAfter(header, "shape");
        var close = shapeText.IndexOf(')', StringComparison.Ordinal);
        if (!shapeText.StartsWith('(') || close < 0) throw new InvalidDataException($"npy header has no shape tuple: {header.Trim()}");
        var shape = shapeText[1..close]
            .Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Select(d => int.TryParse(d, NumberStyles.None, CultureInfo.InvariantCulture, out var v) ? v
                : throw new InvalidDataException($"npy header has a bad dimension '{d}': {header.Trim()}"))
            .ToArray();
        return new NpyHeader(descr[1..end], fortran, shape);
    }

    /// <summary>The shape as NumPy prints it: (3,) or (100, 3).</summary>
    public string ShapeText => Shape.Length == 1 ? $"({Shape[0]},)" : $"({string.Join(", ", Shape)})";

    private static string ValueAfter(string header, string key)
    {
        foreach (var quote in "'\"")
        {
            var at = header.IndexOf($"{quote}{key}{quote}", StringComparison.Ordinal);
            if (at < 0) continue;
            var colon = header.IndexOf(':', at + key.Length + 2);
            if (colon >= 0) return header[(colon + 1)..].TrimStart();
        }

        throw new InvalidDataException($"npy header lacks '{key}': {header.Trim()}");
    }
}
