using System.Buffers.Binary;
using System.Text;
using Concerto.Ingest.Formats.Arrays;

namespace Concerto.Ingest.Formats.Tests.Arrays;

public class NpyTests
{
    [Fact]
    public void Write_ProducesNpy10HeaderAndLittleEndianData()
    {
        using var stream = new MemoryStream();
        float[] data = [1.5f, -2f, 3.25f, 0f, 7f, 8f];
        Npy.Write<float>(stream, data, 2, 3);
        var bytes = stream.ToArray();

        Assert.Equal(0x93, bytes[0]);
        Assert.Equal("NUMPY"u8.ToArray(), bytes[1..6]);
        Assert.Equal((1, 0), (bytes[6], bytes[7]));
        var headerLength = BinaryPrimitives.ReadUInt16LittleEndian(bytes.AsSpan(8));
        Assert.Equal(0, (10 + headerLength) % 64);                  // data starts 64-byte aligned
        var header = Encoding.ASCII.GetString(bytes, 10, headerLength);
        Assert.StartsWith("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }", header, StringComparison.Ordinal);
        Assert.EndsWith("\n", header, StringComparison.Ordinal);
        var payload = bytes[(10 + headerLength)..];
        Assert.Equal(data.Length * 4, payload.Length);
        Assert.Equal(-2f, BinaryPrimitives.ReadSingleLittleEndian(payload.AsSpan(4)));
    }

    [Fact]
    public void Write_UsesTrailingCommaForOneDimension()
    {
        using var stream = new MemoryStream();
        Npy.Write<int>(stream, [4, 5, 6], 3);
        var header = Encoding.ASCII.GetString(stream.ToArray(), 10, 60);
        Assert.Contains("'descr': '<i4'", header, StringComparison.Ordinal);
        Assert.Contains("'shape': (3,)", header, StringComparison.Ordinal);
    }

    [Fact]
    public void Read_ReturnsWhatWriteWrote()
    {
        var path = Path.GetTempFileName();
        try
        {
            Npy.Write<float>(path, [1f, 2f, 3f, 4f, 5f, 6f], 2, 3);
            var (data, shape) = Npy.Read<float>(path);
            Assert.Equal([2, 3], shape);
            Assert.Equal([1f, 2f, 3f, 4f, 5f, 6f], data);
            Assert.Throws<InvalidDataException>(() => Npy.Read<int>(path)); // wrong element type
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void Write_Throws_WhenShapeDoesNotMatchData()
    {
        using var stream = new MemoryStream();
        Assert.Throws<ArgumentException>(() => Npy.Write<byte>(stream, new byte[5], 2, 3));
    }

    [Fact]
    public void Header_ReadsShapeAndTypeWithoutTheData()
    {
        using var stream = new MemoryStream();
        Npy.Write<long>(stream, new long[12], 4, 3);
        stream.Position = 0;
        var (header, offset) = NpyHeader.Read(stream);
        Assert.Equal((NpyHeader.Int64, false), (header.Descr, header.FortranOrder));
        Assert.Equal([4, 3], header.Shape);
        Assert.Equal("(4, 3)", header.ShapeText);
        Assert.Equal(stream.Length - 12 * sizeof(long), offset);
    }

    [Theory]
    [InlineData("{\"descr\": \"<f2\", \"fortran_order\": True, \"shape\": (7,)}", "<f2", true, new[] { 7 })]
    [InlineData("{'descr': '|u1', 'fortran_order': False, 'shape': (), }", "|u1", false, new int[0])]
    public void Header_ParsesNumPysDictLiterals(string text, string descr, bool fortran, int[] shape)
    {
        var header = NpyHeader.Parse(text);
        Assert.Equal((descr, fortran), (header.Descr, header.FortranOrder));
        Assert.Equal(shape, header.Shape);
    }

    [Fact]
    public void Read_NamesTheFile_WhenItIsNotNpyOrTruncated()
    {
        var path = Path.GetTempFileName();
        try
        {
            File.WriteAllText(path, "not an array");
            Assert.Contains(path, Assert.Throws<InvalidDataException>(() => Npy.Read<float>(path)).Message, StringComparison.Ordinal);
            using (var stream = new MemoryStream())
            {
                Npy.Write<float>(stream, [1f, 2f, 3f], 3);
                File.WriteAllBytes(path, stream.ToArray()[..^4]); // last value cut off
            }

            Assert.Contains("does not match its shape (3,)", Assert.Throws<InvalidDataException>(() => Npy.Read<float>(path)).Message, StringComparison.Ordinal);
        }
        finally
        {
            File.Delete(path);
        }
    }
}
