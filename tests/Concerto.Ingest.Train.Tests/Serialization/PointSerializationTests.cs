using Concerto.Ingest.Train.Serialization;

namespace Concerto.Ingest.Train.Tests.Serialization;

public sealed class PointSerializationTests
{
    [Theory]
    [InlineData(0, 1)]
    [InlineData(1, 2)]
    [InlineData(2, 2)]
    [InlineData(3, 3)]
    [InlineData(255, 9)]
    public void Depth_IsTheBitLengthOfMaxPlusOne(int max, int depth) => Assert.Equal(depth, PointSerialization.Depth(max));

    [Theory]
    [InlineData(1, 0, 0, 4)]        // x bit 0 -> position 2
    [InlineData(0, 1, 0, 2)]        // y bit 0 -> position 1
    [InlineData(0, 0, 1, 1)]        // z bit 0 -> position 0
    [InlineData(3, 0, 0, 36)]       // x bits 0, 1 -> positions 2, 5
    [InlineData(1, 2, 3, 29)]       // x: 4; y bit 1 -> position 4: 16; z bits 0, 1 -> 1 + 8
    [InlineData(7, 7, 7, 511)]
    public void ZOrder_InterleavesXyzBits(int x, int y, int z, long code) => Assert.Equal(code, PointSerialization.ZOrder(x, y, z, 3));

    /// <summary>Hand-worked with depth 1 (no inversions or swaps): the index is the Gray-to-binary of the bits (x, y, z).</summary>
    [Theory]
    [InlineData(0, 0, 0, 0)]
    [InlineData(0, 0, 1, 1)]
    [InlineData(0, 1, 1, 2)]
    [InlineData(0, 1, 0, 3)]
    [InlineData(1, 1, 0, 4)]
    [InlineData(1, 1, 1, 5)]
    [InlineData(1, 0, 1, 6)]
    [InlineData(1, 0, 0, 7)]
    public void Hilbert_Depth1_VisitsTheCubeCornersInGrayCodeOrder(int x, int y, int z, long code) =>
        Assert.Equal(code, PointSerialization.Hilbert(x, y, z, 1));

    /// <summary>The defining property: consecutive Hilbert indices are face neighbours, and every cell gets a distinct
    /// index in [0, 8^depth). A wrong inversion or swap breaks adjacency somewhere.</summary>
    [Theory]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(4)]
    public void Hilbert_WalksTheGridOneStepAtATime(int depth)
    {
        var side = 1 << depth;
        var cells = new (int X, int Y, int Z)[side * side * side];
        var seen = new bool[cells.Length];
        for (var x = 0; x < side; x++)
        for (var y = 0; y < side; y++)
        for (var z = 0; z < side; z++)
        {
            var index = PointSerialization.Hilbert(x, y, z, depth);
            Assert.InRange(index, 0, cells.Length - 1);
            Assert.False(seen[index], $"index {index} given twice");
            seen[index] = true;
            cells[index] = (x, y, z);
        }

        Assert.Equal((0, 0, 0), cells[0]);
        for (var i = 1; i < cells.Length; i++)
        {
            var step = Math.Abs(cells[i].X - cells[i - 1].X) + Math.Abs(cells[i].Y - cells[i - 1].Y) + Math.Abs(cells[i].Z - cells[i - 1].Z);
            Assert.True(step == 1, $"indices {i - 1} and {i}: {cells[i - 1]} -> {cells[i]}");
        }
    }

    [Fact]
    public void Serialize_PrefixesTheBatch_SortsByCode_AndInvertsTheOrder()
    {
        // Two samples; the -trans curves swap x and y.
        int[] grid = [1, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0];
        int[] batch = [0, 0, 1, 1];
        var z = PointSerialization.Serialize(grid, batch, SerializationOrder.Z, depth: 1);
        Assert.Equal([4L, 2L, 8L | 1L, 8L], z.Codes);
        Assert.Equal([1, 0, 3, 2], z.Order);
        Assert.Equal([1, 0, 3, 2], z.Inverse);
        var trans = PointSerialization.Serialize(grid, batch, SerializationOrder.ZTrans, depth: 1);
        Assert.Equal([2L, 4L, 8L | 1L, 8L], trans.Codes);
        Assert.Equal([0, 1, 3, 2], trans.Order);

        var random = new Random(3);
        var many = Enumerable.Range(0, 3 * 500).Select(_ => random.Next(64)).ToArray();
        var batches = Enumerable.Range(0, 500).Select(i => i / 200).ToArray();
        foreach (var curve in PointSerialization.All)
        {
            var s = PointSerialization.Serialize(many, batches, curve, PointSerialization.Depth(63));
            for (var i = 1; i < s.Order.Length; i++) Assert.True(s.Codes[s.Order[i - 1]] <= s.Codes[s.Order[i]]);
            for (var i = 0; i < s.Order.Length; i++) Assert.Equal(i, s.Order[s.Inverse[i]]);
            Assert.True(s.Order.Take(200).All(p => batches[p] == 0), "batch 0 comes first");
        }
    }
}
