using Concerto.Ingest.Train.Optimization;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Concerto.Ingest.Train.Tests.Optimization;

public sealed class LayerwiseDecayTests
{
    /// <summary>Pointcept's config: block b of stage e gets base_lr * 0.9^(sum(depths) - sum(depths[:e]) - b - 1).</summary>
    [Fact]
    public void Scale_MatchesTheSonataConfigFormula_ForEveryBaseBlock()
    {
        int[] depths = [3, 3, 3, 12, 3];
        var layers = depths.Sum();
        var id = 0;
        for (var e = 0; e < depths.Length; e++)
        {
            for (var b = 0; b < depths[e]; b++)
            {
                id++;
                var pointcept = Math.Pow(0.9, layers - depths.Take(e).Sum() - b - 1);
                Assert.Equal(pointcept, LayerwiseDecay.Scale(id, layers), 15);
            }
        }

        Assert.Equal(1.0, LayerwiseDecay.Scale(24, 24));                 // the top block trains at the full rate
        Assert.Equal(0.9, LayerwiseDecay.Scale(23, 24), 15);
        Assert.Equal(0.0886293811, LayerwiseDecay.Scale(1, 24), 9);       // 0.9^23
        Assert.Equal(1.0, LayerwiseDecay.Scale(0, 24));                   // embedding: Pointcept's default group
        Assert.Equal(1.0, LayerwiseDecay.Scale(null, 24));                // heads
    }

    [Fact]
    public void Scale_FollowsBeit_WhenAsked()
    {
        Assert.Equal(0.9, LayerwiseDecay.Scale(24, 24, convention: LayerScaleConvention.Beit), 15);
        Assert.Equal(Math.Pow(0.9, 25), LayerwiseDecay.Scale(0, 24, convention: LayerScaleConvention.Beit), 15);
        Assert.Equal(1.0, LayerwiseDecay.Scale(null, 24, convention: LayerScaleConvention.Beit));
    }

    [Fact]
    public void BuildGroups_GroupsByScaleAndDecay_InOrderOfFirstAppearance()
    {
        var named = Parameters();
        try
        {
            var groups = LayerwiseDecay.BuildGroups(named.Select(p => (p.Name, p.Parameter)), LayerOf, layers: 3);

            // Pointcept: embed, top block, heads and token share scale 1; blocks 1 and 2 get 0.81 and 0.9; all decayed.
            Assert.Equal(3, groups.Count);
            Assert.Equal(["embed.weight", "embed.bias", "mask_token", "blocks.2.fc.weight", "blocks.2.norm.weight", "head.weight"],
                groups[0].Names);
            Assert.Equal(1.0, groups[0].LearningRateScale);
            Assert.Equal(["blocks.0.fc.weight", "blocks.0.norm.weight"], groups[1].Names);
            Assert.Equal(0.81, groups[1].LearningRateScale, 15);
            Assert.Equal(["blocks.1.fc.weight", "blocks.1.norm.weight"], groups[2].Names);
            Assert.Equal(0.9, groups[2].LearningRateScale, 15);
            Assert.All(groups, g => Assert.True(g.AppliesWeightDecay));
            Assert.DoesNotContain(groups, g => g.Names.Contains("frozen.weight"));
            Assert.Same(named[0].Parameter, groups[0].Parameters[0]);
        }
        finally
        {
            foreach (var (_, p) in named) p.Dispose();
        }
    }

    [Fact]
    public void BuildGroups_SplitsOffNormsBiasesAndTokens_UnderTheUsualExclusion()
    {
        var named = Parameters();
        try
        {
            var groups = LayerwiseDecay.BuildGroups(named.Select(p => (p.Name, p.Parameter)), LayerOf, layers: 3,
                convention: LayerScaleConvention.Beit, exclusion: WeightDecayExclusion.NormsBiasesAndTokens);

            var byName = groups.SelectMany(g => g.Names.Select(n => (n, g))).ToDictionary(x => x.n, x => x.g);
            Assert.True(byName["embed.weight"].AppliesWeightDecay);
            Assert.False(byName["embed.bias"].AppliesWeightDecay);
            Assert.False(byName["mask_token"].AppliesWeightDecay);       // 2-D, excluded by name
            Assert.False(byName["blocks.1.norm.weight"].AppliesWeightDecay); // 1-D
            Assert.True(byName["blocks.1.fc.weight"].AppliesWeightDecay);
            Assert.Equal(Math.Pow(0.9, 4), byName["embed.weight"].LearningRateScale, 15);  // layer 0 of 3: 0.9^(3+1-0)
            Assert.Equal(0.9, byName["blocks.2.fc.weight"].LearningRateScale, 15);
            Assert.Equal(1.0, byName["head.weight"].LearningRateScale);
            Assert.Same(byName["embed.bias"], byName["mask_token"]);        // same (scale, no decay) key: one group
            Assert.Equal(9, groups.Count);                                  // 5 scales, 4 of them with a no-decay half
        }
        finally
        {
            foreach (var (_, p) in named) p.Dispose();
        }
    }

    [Fact]
    public void BuildGroups_Throws_WhenALayerIdIsOutOfRange()
    {
        using var p = new Parameter(zeros(2, 2));
        var ex = Assert.Throws<ArgumentOutOfRangeException>(() =>
            LayerwiseDecay.BuildGroups([("blocks.9.fc.weight", p)], _ => 9, layers: 3));
        Assert.Contains("blocks.9.fc.weight", ex.Message, StringComparison.Ordinal);
    }

    private static int? LayerOf(string name) => name switch
    {
        _ when name.StartsWith("embed", StringComparison.Ordinal) || name == "mask_token" => 0,
        _ when name.StartsWith("blocks.", StringComparison.Ordinal) => int.Parse(name.Split('.')[1], System.Globalization.CultureInfo.InvariantCulture) + 1,
        _ => null,
    };

    private static List<(string Name, Parameter Parameter)> Parameters()
    {
        var list = new List<(string, Parameter)>
        {
            ("embed.weight", new Parameter(zeros(4, 9))),
            ("embed.bias", new Parameter(zeros(4))),
            ("mask_token", new Parameter(zeros(1, 4))),
        };
        for (var b = 0; b < 3; b++)
        {
            list.Add(($"blocks.{b}.fc.weight", new Parameter(zeros(4, 4))));
            list.Add(($"blocks.{b}.norm.weight", new Parameter(ones(4))));
        }

        list.Add(("head.weight", new Parameter(zeros(2, 4))));
        list.Add(("frozen.weight", new Parameter(zeros(2, 4), requires_grad: false)));
        return list;
    }
}
