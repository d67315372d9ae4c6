using Concerto.Ingest.Train.Sparse;
using TorchSharp;
using static TorchSharp.torch;

namespace Concerto.Ingest.Train.Tests.Sparse;

public sealed class SubmanifoldConv3dTests
{
    [Fact]
    public void KernelMap_PairsEachVoxelWithItsOccupiedNeighbours_WithinItsOwnSample()
    {
        // Two voxels side by side in x in sample 0, and the same two places in sample 1.
        int[] grid = [0, 0, 0, 1, 0, 0, 0, 0, 0, 1, 0, 0];
        int[] batch = [0, 0, 1, 1];
        var map = KernelMap.Build(grid, batch);
        Assert.Equal((0, 0, 0), KernelMap.Offset(13));
        Assert.Equal([0, 1, 2, 3], map.Inputs[13]);                 // the centre: every voxel reads itself
        var plusX = Enumerable.Range(0, 27).Single(k => KernelMap.Offset(k) == (1, 0, 0));
        Assert.Equal([1, 3], map.Inputs[plusX]);                    // voxel 0 reads voxel 1 at +x, never across samples
        Assert.Equal([0, 2], map.Outputs[plusX]);
        Assert.Equal(4 + 4, map.Inputs.Sum(i => i.Length));
    }

    /// <summary>Jittered masked points may share a voxel (issue 23, item 3). Points 0 and 1 share (0,0,0) and point 2 is
    /// at +x: the first of the pair stands for the voxel (spconv's hashed indices), so both read point 0 at the centre
    /// and point 2 at +x, point 2 reads point 0 at -x, and point 1's own features feed no output.</summary>
    [Fact]
    public void KernelMap_LetsTheFirstOfAVoxelsPointsStandForIt()
    {
        var map = KernelMap.Build([0, 0, 0, 0, 0, 0, 1, 0, 0], [0, 0, 0]);
        Assert.Equal([0, 0, 2], map.Inputs[13]);
        Assert.Equal([0, 1, 2], map.Outputs[13]);
        var plusX = Enumerable.Range(0, 27).Single(k => KernelMap.Offset(k) == (1, 0, 0));
        var minusX = Enumerable.Range(0, 27).Single(k => KernelMap.Offset(k) == (-1, 0, 0));
        Assert.Equal([2, 2], map.Inputs[plusX]);
        Assert.Equal([0, 1], map.Outputs[plusX]);
        Assert.Equal([0], map.Inputs[minusX]);
        Assert.Equal([2], map.Outputs[minusX]);
        Assert.DoesNotContain(1, map.Inputs.SelectMany(i => i));
    }

    /// <summary>On occupied voxels the sparse convolution equals a dense 3x3x3 convolution (padding 1) of the grid with
    /// empty voxels at zero, in both samples of a batch.</summary>
    [Fact]
    public void Forward_EqualsADenseConvolutionAtOccupiedVoxels()
    {
        using var scope = NewDisposeScope();
        manual_seed(11);
        const int side = 6, cin = 3, cout = 5;
        var random = new Random(4);
        var grid = new List<int>();
        var batch = new List<int>();
        for (var b = 0; b < 2; b++)
        for (var x = 0; x < side; x++)
        for (var y = 0; y < side; y++)
        for (var z = 0; z < side; z++)
        {
            if (random.NextDouble() > 0.4) continue;
            grid.AddRange([x, y, z]);
            batch.Add(b);
        }

        var n = batch.Count;
        var features = randn(n, cin, dtype: float64);
        using var conv = new SubmanifoldConv3d("conv", cin, cout);
        conv.to(float64);
        using (no_grad()) conv.Bias.copy_(randn(cout, dtype: float64));
        using var map = new KernelMapTensors(KernelMap.Build(grid.ToArray(), batch.ToArray()), CPU);
        var sparse = conv.forward(features, map);

        // The same weights as a dense kernel [out, in, 3, 3, 3] over (x, y, z).
        var dense = conv.Weight.detach().reshape(3, 3, 3, cin, cout).permute(4, 3, 0, 1, 2).contiguous();
        for (var b = 0; b < 2; b++)
        {
            var volume = zeros(new long[] { 1, cin, side, side, side }, dtype: float64);
            for (var i = 0; i < n; i++)
                if (batch[i] == b) volume[0, TensorIndex.Colon, grid[3 * i], grid[3 * i + 1], grid[3 * i + 2]] = features[i];
            var expected = nn.functional.conv3d(volume, dense, conv.Bias.detach(), padding: [1, 1, 1]);
            for (var i = 0; i < n; i++)
            {
                if (batch[i] != b) continue;
                var want = expected[0, TensorIndex.Colon, grid[3 * i], grid[3 * i + 1], grid[3 * i + 2]];
                Assert.True(allclose(sparse[i], want, rtol: 1e-10, atol: 1e-12), $"voxel {i}: {sparse[i].str()} vs {want.str()}");
            }
        }

        // Gradients flow to the weights and the features.
        var input = features.clone().requires_grad_(true);
        conv.forward(input, map).sum().backward();
        Assert.NotNull(input.grad);
        Assert.NotNull(conv.Weight.grad);
    }
}
