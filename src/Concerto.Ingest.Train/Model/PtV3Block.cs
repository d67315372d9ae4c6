using Concerto.Ingest.Train.Sparse;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Concerto.Ingest.Train.Model;

/// <summary>Multi-head self-attention inside windows of serialized points (spec section 1): the points are gathered in
/// the level's padded order, split into windows (K points, or a whole sample shorter than K), attended within each
/// window with no mask, and every point reads its output from its own slot. qkv Linear(C, 3C), scale (C/H)^-0.5,
/// projection Linear(C, C); no relative positions.</summary>
public sealed class SerializedAttention : nn.Module<Tensor, PointLevel, int, Tensor>
{
    private readonly Linear qkv;
    private readonly Linear proj;
    private readonly int _heads;

    public SerializedAttention(string name, int channels, int heads) : base(name)
    {
        _heads = heads;
        qkv = nn.Linear(channels, 3 * channels);
        proj = nn.Linear(channels, channels);
        RegisterComponents();
    }

    /// <summary>The dtype attention runs in (bfloat16 for mixed precision); null: the input's.</summary>
    public ScalarType? ComputeType { get; set; }

    public override Tensor forward(Tensor x, PointLevel level, int orderSlot)
    {
        using var scope = NewDisposeScope();
        var channels = x.shape[1];
        var sequence = qkv.forward(x).index_select(0, level.PatchGather(orderSlot));
        // One batched attention call per window length: K-windows of every sample, then each shorter sample alone.
        var outputs = new List<Tensor>(level.Windows.Count);
        long at = 0;
        foreach (var group in level.Windows)
        {
            var windows = sequence.narrow(0, at, group.Slots)
                .reshape(group.Count, group.Length, 3, _heads, channels / _heads)
                .permute(2, 0, 3, 1, 4); // (q/k/v, windows, heads, length, head dim)
            if (ComputeType is { } type && type != windows.dtype) windows = windows.to(type);
            var attended = nn.functional.scaled_dot_product_attention(windows[0], windows[1], windows[2]).to(x.dtype);
            outputs.Add(attended.transpose(1, 2).reshape(-1, channels));
            at += group.Slots;
        }

        var slots = outputs.Count == 1 ? outputs[0] : cat(outputs, 0);
        return proj.forward(slots.index_select(0, level.PatchScatter(orderSlot))).MoveToOuterDisposeScope();
    }
}

/// <summary>Conditional positional encoding "xCPE": submanifold sparse conv 3x3x3 (C to C, bias), then Linear(C, C), then
/// LayerNorm. Its output is added to the block input.</summary>
public sealed class ConditionalPositionEncoding : nn.Module<Tensor, KernelMapTensors, Tensor>
{
    private readonly SubmanifoldConv3d conv;
    private readonly Linear linear;
    private readonly LayerNorm norm;

    public ConditionalPositionEncoding(string name, int channels) : base(name)
    {
        conv = new SubmanifoldConv3d("conv", channels, channels);
        linear = nn.Linear(channels, channels);
        norm = nn.LayerNorm(channels);
        RegisterComponents();
    }

    public override Tensor forward(Tensor x, KernelMapTensors map)
    {
        using var scope = NewDisposeScope();
        return norm.forward(linear.forward(conv.forward(x, map))).MoveToOuterDisposeScope();
    }
}

/// <summary>One pre-norm PTv3 block: x += xCPE(x); x += DropPath(Attn(LN(x))); x += DropPath(MLP(LN(x))), MLP =
/// Linear(C, 4C), GELU, Linear(4C, C). Drop path drops each point's residual branch with probability p while
/// training, scaling kept ones by 1 / (1 - p).</summary>
public sealed class PtV3Block : nn.Module<Tensor, PointLevel, int, Tensor>
{
    private readonly ConditionalPositionEncoding cpe;
    private readonly LayerNorm norm1;
    private readonly SerializedAttention attn;
    private readonly LayerNorm norm2;
    private readonly Linear fc1;
    private readonly Linear fc2;
    private readonly double _dropPath;

    public PtV3Block(string name, int channels, int heads, double dropPath) : base(name)
    {
        _dropPath = dropPath;
        cpe = new ConditionalPositionEncoding("cpe", channels);
        norm1 = nn.LayerNorm(channels);
        attn = new SerializedAttention("attn", channels, heads);
        norm2 = nn.LayerNorm(channels);
        fc1 = nn.Linear(channels, 4 * channels);
        fc2 = nn.Linear(4 * channels, channels);
        RegisterComponents();
    }

    public double DropPathRate => _dropPath;

    public SerializedAttention Attention => attn;

    /// <summary>Recompute this block's activations during backward instead of keeping them (trades compute for memory).</summary>
    public bool ActivationCheckpointing { get; set; }

    public override Tensor forward(Tensor x, PointLevel level, int orderSlot) =>
        ActivationCheckpointing && training && is_grad_enabled()
            ? BlockCheckpoint.apply(this, x, level, orderSlot)
            : Compute(x, level, orderSlot);

    internal Tensor Compute(Tensor x, PointLevel level, int orderSlot)
    {
        using var scope = NewDisposeScope();
        x = x + cpe.forward(x, level.Map);
        x = x + DropPath(attn.forward(norm1.forward(x), level, orderSlot));
        x = x + DropPath(fc2.forward(nn.functional.gelu(fc1.forward(norm2.forward(x)))));
        return x.MoveToOuterDisposeScope();
    }

    private Tensor DropPath(Tensor branch)
    {
        if (!training || _dropPath == 0) return branch;
        var keep = 1 - _dropPath;
        // Drawn on the CPU generator on every device: its state is what activation checkpointing saves and restores.
        var mask = empty(branch.shape[0], 1, dtype: branch.dtype).bernoulli_(keep).to(branch.device);
        return branch * mask / keep;
    }
}

/// <summary>Activation checkpointing of one block: the forward runs without keeping activations; backward restores the
/// random state the forward saw (so drop path draws the same masks), recomputes the block with gradients and
/// back-propagates through it, which also accumulates the block's parameter gradients.</summary>
internal sealed class BlockCheckpoint : autograd.SingleTensorFunction<BlockCheckpoint>
{
    public override string Name => nameof(BlockCheckpoint);

    public override Tensor forward(autograd.AutogradContext ctx, params object[] vars)
    {
        ArgumentNullException.ThrowIfNull(ctx);
        ArgumentNullException.ThrowIfNull(vars);
        var x = (Tensor)vars[1];
        ctx.save_for_backward([x]);
        ctx.save_data("block", vars[0]);
        ctx.save_data("level", vars[2]);
        ctx.save_data("slot", vars[3]);
        ctx.save_data("rng", get_rng_state());
        return ((PtV3Block)vars[0]).Compute(x, (PointLevel)vars[2], (int)vars[3]);
    }

    public override List<Tensor> backward(autograd.AutogradContext ctx, Tensor grad_output)
    {
        ArgumentNullException.ThrowIfNull(ctx);
        // Backward may run on a libtorch thread with no dispose scope of ours: the recomputation is freed here.
        using var scope = NewDisposeScope();
        var x = ctx.get_saved_variables()[0];
        var after = get_rng_state();
        set_rng_state((Tensor)ctx.get_data("rng"));
        try
        {
            using var grad = enable_grad();
            var input = x.detach().requires_grad_(true);
            var output = ((PtV3Block)ctx.get_data("block")).Compute(input, (PointLevel)ctx.get_data("level"), (int)ctx.get_data("slot"));
            output.backward([grad_output]);
            return [null!, input.grad!.MoveToOuterDisposeScope(), null!, null!]; // one per argument of apply; only x is a tensor
        }
        finally
        {
            set_rng_state(after);
        }
    }
}

/// <summary>Stride-2 grid pooling (spec section 1): voxels merge 2x2x2 per sample; each new point takes the max over its
/// children of Linear(C_prev, C_next), then LayerNorm and GELU; positions are cluster means; each child remembers its
/// parent in <see cref="PointLevel.PoolingInverse"/>; the new level is serialized with freshly shuffled orders.</summary>
public sealed class GridPooling : nn.Module<PointLevel, Random, PointLevel>
{
    private readonly Linear proj;
    private readonly LayerNorm norm;
    private readonly int _patchSize;

    public GridPooling(string name, int inChannels, int outChannels, int patchSize) : base(name)
    {
        _patchSize = patchSize;
        proj = nn.Linear(inChannels, outChannels);
        norm = nn.LayerNorm(outChannels);
        RegisterComponents();
    }

    public override PointLevel forward(PointLevel child, Random random)
    {
        var (cluster, grid, batch) = Clusters(child.Grid, child.Batch);
        var device = child.Feat.device;
        var clusters = batch.Length;
        var inverse = tensor(cluster, device: device);
        var projected = proj.forward(child.Feat);
        // Max over each cluster's children (8 at most, unless jittered points share voxels): gather them into
        // [clusters, most children, C], empty places reading a -inf row.
        var padded = cat([projected, full(1, projected.shape[1], double.NegativeInfinity, dtype: projected.dtype, device: device)], 0);
        var (table, width) = ChildrenTable(cluster, clusters);
        var pooled = padded.index_select(0, tensor(table, device: device)).view(clusters, width, -1).amax(1);
        var feat = nn.functional.gelu(norm.forward(pooled));
        child.PoolingInverse = inverse;
        return PointLevel.Create(feat, ClusterMean(child.Coord, inverse, clusters), ClusterMean(child.Origin, inverse, clusters), grid, batch,
            child.GridSize * 2, _patchSize, random, device);
    }

    /// <summary>The cluster of each child (grid / 2 per sample) numbered in order of first appearance, and each cluster's
    /// grid coordinates and sample. Children of one sample only ever join clusters of that sample, so clusters stay
    /// contiguous per sample.</summary>
    internal static (long[] Cluster, int[] Grid, int[] Batch) Clusters(int[] childGrid, int[] childBatch)
    {
        var n = childBatch.Length;
        var ids = new Dictionary<long, int>(n / 4 + 1);
        var cluster = new long[n];
        var grid = new List<int>(n);
        var batch = new List<int>(n / 4 + 1);
        for (var i = 0; i < n; i++)
        {
            int x = childGrid[3 * i] >> 1, y = childGrid[3 * i + 1] >> 1, z = childGrid[3 * i + 2] >> 1;
            var key = ((long)childBatch[i] << 48) | ((long)x << 32) | ((long)y << 16) | (long)z;
            if (!ids.TryGetValue(key, out var id))
            {
                id = batch.Count;
                ids.Add(key, id);
                grid.Add(x);
                grid.Add(y);
                grid.Add(z);
                batch.Add(childBatch[i]);
            }

            cluster[i] = id;
        }

        return (cluster, [.. grid], [.. batch]);
    }

    /// <summary>Row c lists cluster c's children, padded with n (the index of the -inf row); rows are as wide as the
    /// largest cluster.</summary>
    private static (long[] Table, int Width) ChildrenTable(long[] cluster, int clusters)
    {
        var n = cluster.Length;
        var filled = new int[clusters];
        foreach (var c in cluster) filled[c]++;
        var width = Math.Max(1, filled.Max());
        Array.Clear(filled);
        var table = new long[clusters * width];
        Array.Fill(table, n);
        for (var i = 0; i < n; i++)
        {
            var c = cluster[i];
            table[c * width + filled[c]++] = i;
        }

        return (table, width);
    }

    internal static Tensor ClusterMean(Tensor values, Tensor inverse, int clusters)
    {
        var sums = ScatterSum.Rows(zeros(clusters, values.shape[1], dtype: values.dtype, device: values.device), inverse, values);
        var counts = ScatterSum.Rows(zeros(clusters, dtype: values.dtype, device: values.device), inverse, ones_like(inverse, dtype: values.dtype));
        return sums / counts.unsqueeze(1);
    }
}
