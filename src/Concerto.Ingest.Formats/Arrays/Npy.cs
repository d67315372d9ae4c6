using System.Buffers.Binary;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Text;

namespace Concerto.Ingest.Formats.Arrays;

/// <summary>NumPy .npy (format 1.0, little-endian, C order) writing and reading, the array format of Pointcept point clouds.</summary>
public static class Npy
{
    public static void Write<T>(Stream stream, ReadOnlySpan<T> data, params int[] shape) where T : unmanaged
    {
        ArgumentNullException.ThrowIfNull(stream);
        ArgumentNullException.ThrowIfNull(shape);
        var count = shape.Aggregate(1L, (a, b) => a * b);
        if (count != data.Length) throw new ArgumentException($"shape ({string.Join(", ", shape)}) holds {count} values, data has {data.Length}");
        if (!BitConverter.IsLittleEndian) throw new PlatformNotSupportedException("npy writing assumes a little-endian machine");

        var dims = shape.Length == 1 ? $"{shape[0]}," : string.Join(", ", shape.Select(s => s.ToString(CultureInfo.InvariantCulture)));
        var header = $"{{'descr': '{Descriptor<T>()}', 'fortran_order': False, 'shape': ({dims}), }}";
        // Magic (6) + version (2) + header length (2) + header, padded with spaces to a multiple of 64, ending in \n.
        var total = (10 + header.Length + 1 + 63) / 64 * 64;
        header = header.PadRight(total - 10 - 1) + "\n";

        Span<byte> prefix = stackalloc byte[10];
        prefix[0] = 0x93; // the magic's first byte is not ASCII: a u8 string literal would encode it as two bytes
        "NUMPY"u8.CopyTo(prefix[1..]);
        prefix[6] = 1;
        prefix[7] = 0;
        BinaryPrimitives.WriteUInt16LittleEndian(prefix[8..], (ushort)header.Length);
        stream.Write(prefix);
        stream.Write(Encoding.ASCII.GetBytes(header));
        stream.Write(MemoryMarshal.AsBytes(data));
    }

    public static void Write<T>(string path, ReadOnlySpan<T> data, params int[] shape) where T : unmanaged
    {
        using var file = File.Create(path);
        Write(file, data, shape);
    }

    /// <summary>Reads an array written in the same layout (format 1.x, little-endian, C order, element type T); returns
    /// the data and its shape.</summary>
    public static (T[] Data, int[] Shape) Read<T>(string path) where T : unmanaged
    {
        var bytes = File.ReadAllBytes(path);
        NpyHeader header;
        int offset;
        try
        {
            using var stream = new MemoryStream(bytes, writable: false);
            (header, offset) = NpyHeader.Read(stream);
        }
        catch (InvalidDataException e)
        {
            throw new InvalidDataException($"{path}: {e.Message}", e);
        }

        if (header.Descr != Descriptor<T>() || header.FortranOrder)
            throw new InvalidDataException($"{path}: expected a C-order {Descriptor<T>()} array, the file holds {(header.FortranOrder ? "a Fortran-order " : "")}{header.Descr} {header.ShapeText}");
        var data = MemoryMarshal.Cast<byte, T>(bytes.AsSpan(offset)).ToArray();
        if (data.Length != header.Shape.Aggregate(1L, (a, b) => a * b)) throw new InvalidDataException($"{path}: data does not match its shape {header.ShapeText}");
        return (data, header.Shape);
    }

    private static string Descriptor<T>() => typeof(T) switch
    {
        var t when t == typeof(Half) => "<f2",
        var t when t == typeof(float) => "<f4",
        var t when t == typeof(double) => "<f8",
        var t when t == typeof(byte) => "|u1",
        var t when t == typeof(short) => "<i2",
        var t when t == typeof(ushort) => "<u2",
        var t when t == typeof(int) => "<i4",
        var t when t == typeof(long) => "<i8",
        var t => throw new NotSupportedException($"no npy type for {t.Name}"),
    };
}
