namespace Concerto.Ingest.Formats.Arrays;

/// <summary>Reads .npy files that must hold a given element type and shape, with errors that name the file, what it
/// holds and what was expected (callers add whose file it is).</summary>
public static class NpyCheck
{
    /// <summary>The header of <paramref name="path"/>.</summary>
    /// <exception cref="InvalidDataException">The file is missing or is not a .npy file.</exception>
    public static NpyHeader Header(string path)
    {
        if (!File.Exists(path)) throw new InvalidDataException($"{path} is missing");
        try
        {
            return NpyHeader.Read(path);
        }
        catch (InvalidDataException e)
        {
            throw new InvalidDataException($"{path}: {e.Message}", e);
        }
    }

    /// <summary>Checks a file's element type and shape (-1 in <paramref name="shape"/> matches any length) and returns
    /// its header; <paramref name="typeName"/> and <paramref name="shapeText"/> say what was expected in words.</summary>
    /// <exception cref="InvalidDataException">The file is missing, or its type, order or shape differ.</exception>
    public static NpyHeader Check(string path, string descr, string typeName, int[] shape, string shapeText)
    {
        ArgumentNullException.ThrowIfNull(shape);
        var header = Header(path);
        var expected = $"expected C-order {typeName} with shape {shapeText}";
        if (header.Descr != descr) throw new InvalidDataException($"{path} holds '{header.Descr}' {header.ShapeText}; {expected}.");
        if (header.FortranOrder) throw new InvalidDataException($"{path} is Fortran-ordered; {expected}.");
        var fits = header.Shape.Length == shape.Length;
        for (var d = 0; fits && d < shape.Length; d++) fits = shape[d] < 0 || header.Shape[d] == shape[d];
        if (!fits) throw new InvalidDataException($"{path} has shape {header.ShapeText}; {expected}.");
        return header;
    }

    /// <summary>Reads a float32 array that must hold <paramref name="count"/> x <paramref name="columns"/> values
    /// (<paramref name="count"/> -1: any number of rows), every one finite.</summary>
    public static float[] ReadFinite(string path, int count, int columns, string shapeText)
    {
        Check(path, NpyHeader.Float32, "float32", columns == 1 ? [count] : [count, columns], shapeText);
        var values = Npy.Read<float>(path).Data;
        for (var i = 0; i < values.Length; i++)
            if (!float.IsFinite(values[i]))
                throw new InvalidDataException($"{path} has a non-finite value ({values[i]}) at row {i / columns}");
        return values;
    }

    /// <summary>Reads an int32 or int64 vector of <paramref name="count"/> values as int32.</summary>
    public static int[] ReadIndices(string path, int count, string shapeText)
    {
        var wide = Header(path).Descr == NpyHeader.Int64;
        Check(path, wide ? NpyHeader.Int64 : NpyHeader.Int32, "int32 or int64", [count], shapeText);
        if (!wide) return Npy.Read<int>(path).Data;
        return Array.ConvertAll(Npy.Read<long>(path).Data, v => v is >= int.MinValue and <= int.MaxValue ? (int)v
            : throw new InvalidDataException($"{path} holds {v}, outside the int32 range"));
    }
}
