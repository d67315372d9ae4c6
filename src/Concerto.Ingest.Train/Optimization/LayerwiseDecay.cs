using TorchSharp.Modules;

namespace Concerto.Ingest.Train.Optimization;

/// <summary>How a layer id maps to a learning-rate scale <c>decay^exponent</c>.</summary>
public enum LayerScaleConvention
{
    /// <summary>The Sonata/Concerto configs: encoder block i of L (1-based, bottom to top) gets <c>decay^(L - i)</c>, so the
    /// top block trains at the full rate; everything else (embedding, pooling, heads, mask token) stays at scale 1
    /// because only <c>enc{e}.block{b}.</c> parameters are put in decayed groups there.</summary>
    Pointcept,

    /// <summary>BEiT / DINOv2 fine-tuning: layer id i in 0..L gets <c>decay^(L + 1 - i)</c>; the embedding (0) is decayed the
    /// most, the top block gets <c>decay</c>, and parameters outside the encoder (null, i.e. L + 1) get 1.</summary>
    Beit,
}

/// <summary>Which parameters skip weight decay.</summary>
public enum WeightDecayExclusion
{
    /// <summary>None: Pointcept's WeightDecaySchedular hook sets the same weight decay on every parameter group, so
    /// biases, LayerNorm weights and the mask token are decayed too. This reproduces Sonata/Concerto.</summary>
    None,

    /// <summary>The usual ViT convention (timm, BEiT, DINOv2): no weight decay on 1-D parameters (biases, LayerNorm
    /// weights and biases), on names ending in "bias", and on names that contain "token" (mask, class and register
    /// tokens, which are 2-D).</summary>
    NormsBiasesAndTokens,
}

/// <summary>One AdamW parameter group: parameters sharing a learning-rate scale and whether they take weight decay.</summary>
/// <param name="LearningRateScale">Multiplies the scheduled base learning rate.</param>
/// <param name="AppliesWeightDecay">False: the group's weight decay stays 0 whatever the schedule says.</param>
/// <param name="Names">Parameter names, in the order of <paramref name="Parameters"/>.</param>
/// <param name="Parameters">The parameters, in module order (the optimizer state file depends on this order).</param>
public sealed record LayerwiseParameterGroup(
    double LearningRateScale,
    bool AppliesWeightDecay,
    IReadOnlyList<string> Names,
    IReadOnlyList<Parameter> Parameters);

/// <summary>Layer-wise learning-rate decay (spec section 2: 0.9 per block from the top): builds the AdamW parameter groups.
/// Parameters are grouped by (scale, takes weight decay) so an L-block encoder needs at most 2 x (L + 2) groups; groups
/// appear in the order their first parameter appears, so the same module always gives the same groups.</summary>
public static class LayerwiseDecay
{
    /// <summary>Sonata/Concerto: <c>lr_decay = 0.9</c>.</summary>
    public const double SpecDecay = 0.9;

    /// <summary>The learning-rate scale of a parameter at <paramref name="layerId"/> (null: outside the encoder).</summary>
    /// <param name="layerId">0 = embedding, 1..<paramref name="layers"/> = encoder blocks bottom to top, null = not part of
    /// the encoder (heads, predictor).</param>
    /// <param name="layers">L, the number of encoder blocks (Base and Large: 3+3+3+12+3 = 24).</param>
    /// <param name="decay">Per-block factor.</param>
    /// <param name="convention">See <see cref="LayerScaleConvention"/>.</param>
    public static double Scale(int? layerId, int layers, double decay = SpecDecay,
        LayerScaleConvention convention = LayerScaleConvention.Pointcept) =>
        Math.Pow(decay, Exponent(layerId, layers, convention));

    /// <summary>True when the parameter takes weight decay under <paramref name="exclusion"/>.</summary>
    public static bool AppliesWeightDecay(string name, Parameter parameter, WeightDecayExclusion exclusion)
    {
        ArgumentNullException.ThrowIfNull(name);
        ArgumentNullException.ThrowIfNull(parameter);
        return exclusion switch
        {
            WeightDecayExclusion.None => true,
            WeightDecayExclusion.NormsBiasesAndTokens => parameter.dim() > 1
                && !name.EndsWith("bias", StringComparison.Ordinal)
                && !name.Contains("token", StringComparison.OrdinalIgnoreCase),
            _ => throw new ArgumentOutOfRangeException(nameof(exclusion), exclusion, "Unknown weight-decay exclusion."),
        };
    }

    /// <summary>Groups the trainable parameters (requires_grad; frozen ones such as the EMA teacher's are skipped, as in
    /// Pointcept's build_optimizer).</summary>
    /// <param name="namedParameters">Usually <c>module.named_parameters()</c>.</param>
    /// <param name="layerOf">Layer id of a parameter name: 0 = embedding, 1..L = encoder blocks in order, null = outside the
    /// encoder. Where pooling layers go is the caller's choice (Pointcept leaves them at scale 1).</param>
    /// <param name="layers">L, the number of encoder blocks.</param>
    /// <param name="decay">Per-block factor, 0.9 in the spec.</param>
    /// <param name="convention">Exponent convention; the default reproduces the Sonata/Concerto configs.</param>
    /// <param name="exclusion">Weight-decay exclusions; the default (none) reproduces the Sonata/Concerto configs.</param>
    public static IReadOnlyList<LayerwiseParameterGroup> BuildGroups(
        IEnumerable<(string name, Parameter parameter)> namedParameters,
        Func<string, int?> layerOf,
        int layers,
        double decay = SpecDecay,
        LayerScaleConvention convention = LayerScaleConvention.Pointcept,
        WeightDecayExclusion exclusion = WeightDecayExclusion.None)
    {
        ArgumentNullException.ThrowIfNull(namedParameters);
        ArgumentNullException.ThrowIfNull(layerOf);
        ArgumentOutOfRangeException.ThrowIfNegative(layers);
        if (!(decay > 0 && decay <= 1))
            throw new ArgumentOutOfRangeException(nameof(decay), decay, "Layer decay must be in (0, 1].");

        var order = new List<(int Exponent, bool Decayed)>();
        var members = new Dictionary<(int Exponent, bool Decayed), (List<string> Names, List<Parameter> Parameters)>();
        foreach (var (name, parameter) in namedParameters)
        {
            if (!parameter.requires_grad) continue;
            var key = (Exponent(layerOf(name), layers, convention, name), AppliesWeightDecay(name, parameter, exclusion));
            if (!members.TryGetValue(key, out var group))
            {
                group = ([], []);
                members.Add(key, group);
                order.Add(key);
            }

            group.Names.Add(name);
            group.Parameters.Add(parameter);
        }

        return order
            .Select(k => new LayerwiseParameterGroup(Math.Pow(decay, k.Exponent), k.Decayed, members[k].Names, members[k].Parameters))
            .ToArray();
    }

    private static int Exponent(int? layerId, int layers, LayerScaleConvention convention, string? name = null)
    {
        if (layerId is { } id && (id < 0 || id > layers))
        {
            throw new ArgumentOutOfRangeException(nameof(layerId), id,
                $"Layer id of '{name}' must be in 0..{layers} (0 = embedding, 1..{layers} = encoder blocks) or null.");
        }

        return convention switch
        {
            LayerScaleConvention.Pointcept => layerId is { } block && block >= 1 ? layers - block : 0,
            LayerScaleConvention.Beit => layers + 1 - (layerId ?? layers + 1),
            _ => throw new ArgumentOutOfRangeException(nameof(convention), convention, "Unknown layer-scale convention."),
        };
    }
}
