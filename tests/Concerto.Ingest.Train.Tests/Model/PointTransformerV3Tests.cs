using Concerto.Ingest.Train.Model;
using Concerto.Ingest.Train.Tests.Optimization;
using TorchSharp;
using static TorchSharp.torch;

namespace Concerto.Ingest.Train.Tests.Model;

[Collection(DefaultGeneratorCollection.Name)] // seeds TorchSharp's process-wide generator and needs its exact sequence
public sealed class PointTransformerV3Tests
{
    /// <summary>Built modules have exactly the closed-form count, and that is within 1% of the spec's figures.</summary>
    [Theory]
    [InlineData("Tiny", 4.86e6)]
    [InlineData("Small", 38.65e6)]
    [InlineData("Base", 108.46e6)]
    [InlineData("Large", 207.67e6)]
    public void ParameterCounts_MatchTheSpec(string size, double expected)
    {
        var config = PtV3Config.Named(size);
        using var model = new PointTransformerV3("ptv3", config);
        var built = model.parameters().Sum(p => p.numel());
        Assert.Equal(config.ParameterCount(), built);
        Assert.InRange(built / expected, 0.99, 1.01);
    }

    [Fact]
    public void PatchIndices_PadByRepeatingPointsOnePatchEarlier()
    {
        // Sample 0: 5 points, sample 1: 2 points, K = 2. Order is the identity, so sorted position = point index.
        int[] order = [0, 1, 2, 3, 4, 5, 6];
        var (gather, scatter, windows) = PointLevel.PatchIndices(order, order, [5, 7], 2);
        // Sample 0 pads to 6: slot 5 repeats sorted position 5 - 2 = 3, so the last window is the last 2 real points
        // (4, 3). Sample 1 fills one window exactly.
        Assert.Equal([0L, 1, 2, 3, 4, 3, 5, 6], gather);
        Assert.Equal([0L, 1, 2, 3, 4, 6, 7], scatter);
        Assert.Equal([new WindowGroup(2, 8)], windows);

        // With a real order the gather lists points in serialized order and each point reads its own slot.
        int[] shuffled = [2, 0, 1];
        int[] inverse = [1, 2, 0];
        var (g2, s2, _) = PointLevel.PatchIndices(shuffled, inverse, [3], 2);
        Assert.Equal([2L, 0, 1, 0], g2);
        Assert.Equal([1L, 2, 0], s2);
    }

    /// <summary>Windows are per sample (the official flash-attention path): with K = 4, a sample of 5 points pads to
    /// two 4-windows, while samples of 1 and 2 points are windows of their own length, grouped by length after the
    /// K-windows; no sample's window depends on the smallest sample of the batch.</summary>
    [Fact]
    public void PatchIndices_ShortSamplesAreOneWindowOfTheirOwnLength()
    {
        int[] order = [0, 1, 2, 3, 4, 5, 6, 7];
        var (gather, scatter, windows) = PointLevel.PatchIndices(order, order, [5, 6, 8], 4);
        Assert.Equal([new WindowGroup(4, 8), new WindowGroup(2, 2), new WindowGroup(1, 1)], windows);
        // Sample 0: 0..4, then sorted positions 1, 2, 3 (K earlier); then sample 2's window (6, 7); then sample 1's (5).
        Assert.Equal([0L, 1, 2, 3, 4, 1, 2, 3, 6, 7, 5], gather);
        Assert.Equal([0L, 1, 2, 3, 4, 10, 8, 9], scatter);
    }

    [Fact]
    public void Pooling_MergesEachTwoCubeWithinItsSample_AndKeepsParents()
    {
        // Sample 0: (0,0,0) and (1,1,1) share cell (0,0,0); (2,0,0) is cell (1,0,0). Sample 1: (0,0,0) alone.
        int[] grid = [0, 0, 0, 1, 1, 1, 2, 0, 0, 0, 0, 0];
        int[] batch = [0, 0, 0, 1];
        var (cluster, parentGrid, parentBatch) = GridPooling.Clusters(grid, batch);
        Assert.Equal([0L, 0, 1, 2], cluster);
        Assert.Equal([0, 0, 0, 1, 0, 0, 0, 0, 0], parentGrid);
        Assert.Equal([0, 0, 1], parentBatch);
    }

    [Fact]
    public void Pooling_TakesTheMaxOverChildren_AndMeanPositions()
    {
        using var scope = NewDisposeScope();
        manual_seed(3);
        using var pool = new GridPooling("pool", 4, 6, 16);
        var feat = randn(4, 4);
        var coord = tensor(new float[] { 0, 0, 0, 0.02f, 0.02f, 0.02f, 0.04f, 0, 0, 0, 0, 0 }).view(4, 3);
        var child = PointLevel.Create(feat, coord, coord, [0, 0, 0, 1, 1, 1, 2, 0, 0, 0, 0, 0], [0, 0, 0, 1], 0.02, 16, new Random(1), CPU);
        var parent = pool.forward(child, new Random(2));

        Assert.Equal(3, parent.Count);
        Assert.Equal([0L, 0, 1, 2], child.PoolingInverse!.data<long>().ToArray());
        Assert.Equal(0.04, parent.GridSize, 12);
        Assert.Equal(new[] { 0.01f, 0.01f, 0.01f }, parent.Coord[0].data<float>().ToArray());

        // Independently: max over the projections of children 0 and 1, then LN and GELU.
        var weights = pool.named_parameters().ToDictionary(p => p.name, p => p.parameter);
        var projected = feat.matmul(weights["proj.weight"].t()) + weights["proj.bias"];
        var max0 = projected[0].maximum(projected[1]);
        var expected = nn.functional.gelu(nn.functional.layer_norm(max0, [6], weights["norm.weight"], weights["norm.bias"]));
        Assert.True(parent.Feat[0].allclose(expected, rtol: 1e-5, atol: 1e-6));
    }

    /// <summary>A sample no larger than the patch is one window, so attention equals plain softmax attention over all
    /// its points whatever the serialization order.</summary>
    [Fact]
    public void Attention_OverOneWindow_EqualsDenseAttention()
    {
        using var scope = NewDisposeScope();
        manual_seed(5);
        const int n = 20, channels = 8, heads = 2;
        using var attention = new SerializedAttention("attn", channels, heads);
        var x = randn(n, channels);
        var grid = Enumerable.Range(0, n).SelectMany(i => new[] { i % 4, i / 4 % 4, i / 16 }).ToArray();
        var level = PointLevel.Create(x, zeros(n, 3), zeros(n, 3), grid, new int[n], 0.02, 64, new Random(1), CPU);
        var weights = attention.named_parameters().ToDictionary(p => p.name, p => p.parameter);

        var qkv = (x.matmul(weights["qkv.weight"].t()) + weights["qkv.bias"]).view(n, 3, heads, channels / heads).permute(1, 2, 0, 3);
        var scores = qkv[0].matmul(qkv[1].transpose(1, 2)) * Math.Pow(channels / heads, -0.5);
        var dense = scores.softmax(-1).matmul(qkv[2]).transpose(0, 1).reshape(n, channels);
        var expected = dense.matmul(weights["proj.weight"].t()) + weights["proj.bias"];
        for (var slot = 0; slot < 4; slot++)
            Assert.True(attention.forward(x, level, slot).allclose(expected, rtol: 1e-4, atol: 1e-5), $"order slot {slot}");
    }

    /// <summary>Samples never see each other: a sample's features are the same alone as beside another sample (both
    /// larger than the patch, so the window length is the same), through every stage, pooling and attention.</summary>
    [Fact]
    public void Forward_KeepsSamplesIndependent_AndBackpropagates()
    {
        using var scope = NewDisposeScope();
        manual_seed(7);
        var config = PtV3Config.Tiny with { PatchSize = 16, Depths = [1, 1, 1, 1, 1], Channels = [8, 16, 16, 32, 32], Heads = [1, 2, 2, 2, 2] };
        using var model = new PointTransformerV3("ptv3", config);
        model.eval();
        var a = Cloud(new Random(1), 300);
        var b = Cloud(new Random(2), 200);

        var alone = Run(model, [a]);
        var together = Run(model, [a, b]);
        Assert.Equal(5, together.Count);
        Assert.True(alone[0].Feat.allclose(together[0].Feat[..300], rtol: 1e-4, atol: 1e-5));
        var upcast = PointTransformerV3.UpCast(together, 0, 4);
        Assert.Equal([500L, config.Channels.Sum()], upcast.shape);
        Assert.Equal(model.UpCastChannels(0, 4), (int)upcast.shape[1]);

        model.train();
        var trained = Run(model, [a, b]);
        PointTransformerV3.UpCast(trained, 1, 3).square().mean().backward();
        Assert.All(model.named_parameters().Where(p => p.name != "mask_token"), p => Assert.True(p.parameter.grad is not null, p.name));
    }

    /// <summary>Issue 23, item 1: a sample's encoder output is the same alone and batched with a much smaller sample
    /// (20 points against a patch of 64): windows are per sample, not the batch's smallest sample, at every stage.</summary>
    [Fact]
    public void Forward_SampleOutputIsTheSameAlone_AndBesideAMuchSmallerSample()
    {
        using var scope = NewDisposeScope();
        manual_seed(8);
        var config = PtV3Config.Tiny with { PatchSize = 64, Depths = [1, 1, 1, 1, 1], Channels = [8, 16, 16, 32, 32], Heads = [1, 2, 2, 2, 2] };
        using var model = new PointTransformerV3("ptv3", config);
        model.eval();
        var large = Cloud(new Random(11), 400);
        var small = Cloud(new Random(12), 20);

        var alone = Run(model, [large]);
        var together = Run(model, [large, small]);
        for (var s = 0; s < alone.Count; s++)
        {
            var n = alone[s].Count;
            Assert.True(together[s].Count > n, $"stage {s}: the small sample has points");
            Assert.True(alone[s].Feat.allclose(together[s].Feat[..n], rtol: 1e-4, atol: 1e-5), $"stage {s}");
        }
    }

    /// <summary>With activation checkpointing, backward recomputes each block (with the drop-path masks the forward drew)
    /// and gives the same loss and gradients as keeping the activations.</summary>
    [Fact]
    public void ActivationCheckpointing_GivesTheSameGradients()
    {
        using var scope = NewDisposeScope();
        manual_seed(9);
        var config = PtV3Config.Tiny with { PatchSize = 16, Depths = [1, 2, 1, 1, 1], Channels = [8, 16, 16, 32, 32], Heads = [1, 2, 2, 2, 2], DropPath = 0.5 };
        using var model = new PointTransformerV3("ptv3", config);
        model.train();
        var clouds = new[] { Cloud(new Random(1), 300), Cloud(new Random(2), 200) };

        Dictionary<string, Tensor> Gradients(bool checkpointing, out float loss)
        {
            model.ActivationCheckpointing = checkpointing;
            model.zero_grad();
            manual_seed(21);
            var value = PointTransformerV3.UpCast(Run(model, clouds), 0, 4).square().mean();
            value.backward();
            loss = value.item<float>();
            return model.named_parameters().Where(p => p.parameter.grad is not null).ToDictionary(p => p.name, p => p.parameter.grad!.clone());
        }

        var kept = Gradients(false, out var keptLoss);
        var recomputed = Gradients(true, out var recomputedLoss);
        Assert.True(model.ActivationCheckpointing);
        Assert.Equal(keptLoss, recomputedLoss, 6);
        Assert.Equal(kept.Keys.Order(), recomputed.Keys.Order());
        Assert.True(kept.Count > 50);
        Assert.All(kept, g => Assert.True(g.Value.allclose(recomputed[g.Key], rtol: 1e-4, atol: 1e-7), g.Key));
    }

    /// <summary>Mixed precision: attention in bfloat16 gives float32 outputs close to full float32 ones.</summary>
    [Fact]
    public void Bf16Attention_StaysCloseToFloat32()
    {
        using var scope = NewDisposeScope();
        manual_seed(4);
        var config = PtV3Config.Tiny with { PatchSize = 16, Depths = [1, 1, 1, 1, 1], Channels = [8, 16, 16, 32, 32], Heads = [1, 2, 2, 2, 2] };
        using var model = new PointTransformerV3("ptv3", config);
        model.eval();
        var clouds = new[] { Cloud(new Random(3), 300) };
        var full = PointTransformerV3.UpCast(Run(model, clouds), 0, 4);
        model.AttentionType = ScalarType.BFloat16;
        var mixed = PointTransformerV3.UpCast(Run(model, clouds), 0, 4);
        Assert.Equal(ScalarType.Float32, mixed.dtype);
        Assert.False(mixed.allclose(full, rtol: 0, atol: 0));
        Assert.True((mixed - full).abs().max().item<float>() < 0.05 * full.abs().max().item<float>());
    }

    /// <summary>Linear and sparse-conv weights are truncated-normal draws with std 0.02 (not one constant, which is what
    /// TorchSharp's own trunc_normal_ gives), biases and the mask token zero.</summary>
    [Fact]
    public void Initialisation_DrawsTruncatedNormalWeights()
    {
        using var scope = NewDisposeScope();
        using var model = new PointTransformerV3("ptv3", PtV3Config.Tiny);
        var parameters = model.named_parameters().ToDictionary(p => p.name, p => p.parameter);
        foreach (var name in new[] { "stages.3.0.attn.qkv.weight", "stages.3.0.cpe.conv.weight", "pooling.3.proj.weight" })
        {
            // The cut-offs are absolute (+-2, i.e. 100 std), so the draws are effectively normal with std 0.02.
            Assert.InRange(parameters[name].std().item<float>(), 0.0195, 0.0205);
            Assert.InRange(parameters[name].abs().max().item<float>(), 0.06, 2.0);
        }

        Assert.Equal(0, parameters["stages.3.0.attn.qkv.bias"].abs().sum().item<float>());
        Assert.Equal(0, parameters["mask_token"].abs().sum().item<float>());
    }

    [Fact]
    public void LayerOf_NumbersTheEmbeddingBlocksAndPoolings()
    {
        using var model = new PointTransformerV3("ptv3", PtV3Config.Tiny);
        Assert.Equal(0, model.LayerOf("embedding.weight"));
        Assert.Equal(0, model.LayerOf("mask_token"));
        Assert.Equal(1, model.LayerOf("stages.0.0.attn.qkv.weight"));
        Assert.Null(model.LayerOf("pooling.2.proj.weight"));
        Assert.Equal(6, model.LayerOf("stages.3.2.cpe.conv.weight"));
        Assert.Equal(7, model.LayerOf("stages.4.0.fc2.bias"));
        Assert.Null(model.LayerOf("head.weight"));
        Assert.All(model.named_parameters().Where(p => p.name.StartsWith("stages.", StringComparison.Ordinal)), p => Assert.NotNull(model.LayerOf(p.name)));
    }

    private static IReadOnlyList<PointLevel> Run(PointTransformerV3 model, (float[] Coord, int[] Grid)[] clouds)
    {
        var coord = clouds.SelectMany(c => c.Coord).ToArray();
        var grid = clouds.SelectMany(c => c.Grid).ToArray();
        var batch = clouds.SelectMany((c, i) => Enumerable.Repeat(i, c.Grid.Length / 3)).ToArray();
        var coords = tensor(coord).view(-1, 3);
        var feat = cat([coords, ones(batch.Length, 6) * 0.5f], 1);
        return model.forward(new EncoderInput(feat, coords, coords, grid, batch, 0.02), new Random(42));
    }

    /// <summary>n distinct random voxels of a 40 x 40 x 10 grid, 2 cm apart, and their centres.</summary>
    internal static (float[] Coord, int[] Grid) Cloud(Random random, int n)
    {
        var seen = new HashSet<(int, int, int)>();
        var grid = new List<int>();
        while (seen.Count < n)
        {
            var voxel = (random.Next(40), random.Next(40), random.Next(10));
            if (!seen.Add(voxel)) continue;
            grid.AddRange([voxel.Item1, voxel.Item2, voxel.Item3]);
        }

        return (grid.Select(g => g * 0.02f + 0.01f).ToArray(), [.. grid]);
    }
}
