using System.Globalization;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Concerto.Ingest.Train.Model;

/// <summary>A batch of grid-sampled points going into the encoder.</summary>
/// <param name="Feat">[N, 9]: coord, colour / 255, normal.</param>
/// <param name="Coord">[N, 3] positions after augmentation.</param>
/// <param name="Origin">[N, 3] positions before augmentation (for matching views).</param>
/// <param name="Grid">Grid coordinates, 3 per point, distinct within a sample, relative to the sample's minimum.</param>
/// <param name="Batch">Sample of each point, contiguous and ascending.</param>
/// <param name="GridSize">Voxel side of <paramref name="Grid"/> in scene units (0.02).</param>
/// <param name="Mask">[N] bool: points whose embedding is replaced by the mask token; null for none.</param>
public sealed record EncoderInput(Tensor Feat, Tensor Coord, Tensor Origin, int[] Grid, int[] Batch, double GridSize, Tensor? Mask = null);

/// <summary>The Point Transformer V3 encoder in encoder-only mode (spec section 1): embedding Linear(9, C0), LN, GELU;
/// a zero-initialised mask token; then per stage (after stride-2 grid pooling from the second on) its blocks, block i of
/// a stage using serialization order i mod 4. Returns every stage's level so heads can up-cast from any depth.</summary>
public sealed class PointTransformerV3 : nn.Module<EncoderInput, Random, IReadOnlyList<PointLevel>>
{
    private readonly Linear embedding;
    private readonly LayerNorm embedding_norm;
    private readonly Parameter mask_token;
    private readonly ModuleList<GridPooling> pooling;
    private readonly ModuleList<ModuleList<PtV3Block>> stages;

    public PointTransformerV3(string name, PtV3Config config) : base(name)
    {
        ArgumentNullException.ThrowIfNull(config);
        config.Validate();
        Config = config;
        embedding = nn.Linear(config.InChannels, config.Channels[0]);
        embedding_norm = nn.LayerNorm(config.Channels[0]);
        mask_token = new Parameter(zeros(1, config.Channels[0]));
        pooling = new ModuleList<GridPooling>();
        stages = new ModuleList<ModuleList<PtV3Block>>();
        var block = 0;
        for (var s = 0; s < config.Stages; s++)
        {
            if (s > 0) pooling.Add(new GridPooling($"pooling{s}", config.Channels[s - 1], config.Channels[s], config.PatchSize));
            var blocks = new ModuleList<PtV3Block>();
            for (var b = 0; b < config.Depths[s]; b++, block++)
            {
                var rate = config.TotalBlocks == 1 ? 0 : config.DropPath * block / (config.TotalBlocks - 1);
                blocks.Add(new PtV3Block($"block{b}", config.Channels[s], config.Heads[s], rate));
            }

            stages.Add(blocks);
        }

        RegisterComponents();
        InitialiseWeights(this);
    }

    public PtV3Config Config { get; }

    /// <summary>Mixed precision: attention (the largest activations and, at patch 1024, most of the FLOPs) computes in
    /// this dtype, e.g. bfloat16, while weights, gradients and the other layers stay float32; null: float32 throughout.
    /// TorchSharp has no autocast, so this is the one place precision is lowered.</summary>
    public ScalarType? AttentionType
    {
        get => stages[0][0].Attention.ComputeType;
        set
        {
            foreach (var stage in stages)
                foreach (var block in stage) block.Attention.ComputeType = value;
        }
    }

    /// <summary>Recompute block activations in backward instead of storing them (profile: activationCheckpointing).</summary>
    public bool ActivationCheckpointing
    {
        get => stages.Any(s => s.Any(b => b.ActivationCheckpointing));
        set
        {
            foreach (var stage in stages)
                foreach (var block in stage) block.ActivationCheckpointing = value;
        }
    }

    /// <summary>Encoder layers for layer-wise learning-rate decay: the embedding is layer 0, blocks are 1..TotalBlocks.</summary>
    public int Layers => Config.TotalBlocks;

    public override IReadOnlyList<PointLevel> forward(EncoderInput input, Random random)
    {
        ArgumentNullException.ThrowIfNull(input);
        var feat = nn.functional.gelu(embedding_norm.forward(embedding.forward(input.Feat)));
        if (input.Mask is not null)
            feat = where(input.Mask.unsqueeze(1), mask_token.expand(feat.shape[0], -1), feat);
        var level = PointLevel.Create(feat, input.Coord, input.Origin, input.Grid, input.Batch, input.GridSize, Config.PatchSize, random, feat.device);
        var levels = new List<PointLevel>(Config.Stages);
        for (var s = 0; s < Config.Stages; s++)
        {
            if (s > 0) level = pooling[s - 1].forward(level, random);
            var x = level.Feat;
            for (var b = 0; b < stages[s].Count; b++) x = stages[s][b].forward(x, level, b);
            level.Feat = x;
            levels.Add(level);
        }

        return levels;
    }

    /// <summary>Encoder-only "up-cast": the features of level <paramref name="level"/> concatenated with those of the
    /// <paramref name="count"/> levels above it, each brought down through the pooling inverses (coarsest last).</summary>
    public static Tensor UpCast(IReadOnlyList<PointLevel> levels, int level, int count)
    {
        ArgumentNullException.ThrowIfNull(levels);
        if (level < 0 || count < 0 || level + count >= levels.Count)
            throw new ArgumentOutOfRangeException(nameof(count), $"cannot up-cast {count} levels onto level {level} of {levels.Count}");
        var feat = levels[level + count].Feat;
        for (var l = level + count - 1; l >= level; l--)
            feat = cat([levels[l].Feat, feat.index_select(0, levels[l].PoolingInverse!)], 1);
        return feat;
    }

    /// <summary>The pre-augmentation positions and sample offsets that level <paramref name="level"/> of a forward pass
    /// on points with these origins, grid coordinates and samples will have, without running the network: pooling
    /// clusters depend only on the grid, and the positions are the same cluster means the forward pass computes. Lets
    /// a teacher pass match points before the student runs.</summary>
    public static (Tensor Origin, long[] Offsets) OriginsAt(Tensor origin, int[] grid, int[] batch, int level)
    {
        ArgumentNullException.ThrowIfNull(origin);
        ArgumentNullException.ThrowIfNull(grid);
        ArgumentNullException.ThrowIfNull(batch);
        ArgumentOutOfRangeException.ThrowIfNegative(level);
        for (var l = 0; l < level; l++)
        {
            var (cluster, parentGrid, parentBatch) = GridPooling.Clusters(grid, batch);
            origin = GridPooling.ClusterMean(origin, tensor(cluster, device: origin.device), parentBatch.Length);
            (grid, batch) = (parentGrid, parentBatch);
        }

        return (origin, PointLevel.OffsetsOf(batch));
    }

    /// <summary>Channels of <see cref="UpCast"/> for that level and count.</summary>
    public int UpCastChannels(int level, int count) => Config.Channels.Skip(level).Take(count + 1).Sum();

    /// <summary>The layer of a parameter for layer-wise lr decay: 1 + the global block index for a block's, 0 for the
    /// embedding and mask token; null for the poolings and names outside the encoder. Only blocks are decayed (Pointcept's
    /// Sonata configs), so layer 0 and null both train at the full rate.</summary>
    public int? LayerOf(string parameterName)
    {
        ArgumentNullException.ThrowIfNull(parameterName);
        var parts = parameterName.Split('.');
        if (parts[0] is "embedding" or "embedding_norm" or "mask_token") return 0;
        if (parts.Length > 2 && parts[0] == "stages")
            return FirstBlockOf(Parse(parts[1])) + Parse(parts[2]) + 1;
        return null;

        static int Parse(string s) => int.Parse(s, CultureInfo.InvariantCulture);
    }

    private int FirstBlockOf(int stage) => Config.Depths.Take(stage).Sum();

    /// <summary>trunc_normal(std 0.02) for Linear weights, zero biases, LayerNorms at (1, 0); the sparse convolutions
    /// initialise themselves the same way; the mask token stays zero.</summary>
    internal static void InitialiseWeights(nn.Module module)
    {
        using var _ = no_grad();
        foreach (var (_, child) in module.named_modules())
        {
            if (child is Linear linear)
            {
                TruncatedNormal.Fill_(linear.weight, std: 0.02);
                if (linear.bias is not null) nn.init.zeros_(linear.bias);
            }
        }
    }
}
