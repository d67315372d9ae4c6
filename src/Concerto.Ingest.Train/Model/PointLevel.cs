using Concerto.Ingest.Train.Serialization;
using Concerto.Ingest.Train.Sparse;
using TorchSharp;
using static TorchSharp.torch;

namespace Concerto.Ingest.Train.Model;

/// <summary>A run of <paramref name="Slots"/> consecutive padded-sequence slots cut into windows of
/// <paramref name="Length"/> points.</summary>
public readonly record struct WindowGroup(int Length, long Slots)
{
    public long Count => Slots / Length;
}

/// <summary>The points of one encoder stage: features, coordinates, integer grid coordinates and batch membership,
/// with what every block of the stage shares, built once when the stage starts: the kernel map of its sparse
/// convolutions and, for each of its (shuffled) serialization orders, the gather and scatter indices of patch attention.
/// Tensors are created in the caller's dispose scope.</summary>
public sealed class PointLevel
{
    private readonly Tensor[] _patchGather;
    private readonly Tensor[] _patchScatter;

    private PointLevel(Tensor coord, Tensor origin, int[] grid, int[] batch, long[] offsets, double gridSize,
        SerializationOrder[] orders, Tensor[] gather, Tensor[] scatter, int patch, WindowGroup[] windows, KernelMapTensors map)
    {
        Coord = coord;
        Origin = origin;
        Grid = grid;
        Batch = batch;
        Offsets = offsets;
        GridSize = gridSize;
        Orders = orders;
        _patchGather = gather;
        _patchScatter = scatter;
        Patch = patch;
        Windows = windows;
        Map = map;
    }

    /// <summary>Point features [N, C]; replaced as blocks run.</summary>
    public Tensor Feat { get; set; } = null!;

    /// <summary>Point positions [N, 3] (cluster means after pooling).</summary>
    public Tensor Coord { get; }

    /// <summary>Positions before augmentation [N, 3] (cluster means after pooling): what views are matched on.</summary>
    public Tensor Origin { get; }

    /// <summary>Integer grid coordinates, 3 per point, relative to each sample's minimum.</summary>
    public int[] Grid { get; }

    /// <summary>The sample each point belongs to; samples are contiguous and in order.</summary>
    public int[] Batch { get; }

    /// <summary>Cumulative ends of the samples (Pointcept's offsets).</summary>
    public long[] Offsets { get; }

    /// <summary>Side of this level's voxels in scene units.</summary>
    public double GridSize { get; }

    /// <summary>The serialization orders in the (shuffled) sequence the stage's blocks use: block i uses Orders[i mod 4].</summary>
    public IReadOnlyList<SerializationOrder> Orders { get; }

    /// <summary>The attention patch size K: the longest window (see <see cref="PatchIndices"/>).</summary>
    public int Patch { get; }

    /// <summary>The padded sequence's runs of equal-length windows, in sequence order (the same for every order).</summary>
    public IReadOnlyList<WindowGroup> Windows { get; }

    /// <summary>The stage's submanifold kernel map.</summary>
    public KernelMapTensors Map { get; }

    /// <summary>Set once this level is pooled: for each point, the point of the next level it fell into.</summary>
    public Tensor? PoolingInverse { get; set; }

    public int Count => Batch.Length;

    public int Samples => Offsets.Length;

    /// <summary>Padded-sequence gather index for order <paramref name="orderSlot"/>: entry j is the point in window slot j.</summary>
    public Tensor PatchGather(int orderSlot) => _patchGather[orderSlot % _patchGather.Length];

    /// <summary>For each point, the window slot holding it (its own slot, never a padding copy).</summary>
    public Tensor PatchScatter(int orderSlot) => _patchScatter[orderSlot % _patchScatter.Length];

    /// <summary>Builds a level; <paramref name="random"/> shuffles the serialization orders. Grid coordinates are
    /// normally distinct within a sample (grid-sampled views); jittered masked points may share a voxel, which every
    /// part handles (see <see cref="KernelMap.Build"/>).</summary>
    public static PointLevel Create(Tensor feat, Tensor coord, Tensor origin, int[] grid, int[] batch, double gridSize, int patchSize,
        Random random, Device device)
    {
        ArgumentNullException.ThrowIfNull(random);
        var n = batch.Length;
        if (n == 0) throw new ArgumentException("a batch needs at least one point");
        var offsets = OffsetsOf(batch);
        var maxCoordinate = 0;
        foreach (var g in grid) maxCoordinate = Math.Max(maxCoordinate, g);
        var depth = PointSerialization.Depth(maxCoordinate);

        var orders = PointSerialization.All.ToArray();
        random.Shuffle(orders);

        var gather = new Tensor[orders.Length];
        var scatter = new Tensor[orders.Length];
        WindowGroup[] windows = [];
        for (var o = 0; o < orders.Length; o++)
        {
            var serialized = PointSerialization.Serialize(grid, batch, orders[o], depth);
            (var g, var s, windows) = PatchIndices(serialized.Order, serialized.Inverse, offsets, patchSize);
            gather[o] = tensor(g, device: device);
            scatter[o] = tensor(s, device: device);
        }

        var map = new KernelMapTensors(KernelMap.Build(grid, batch), device);
        return new PointLevel(coord, origin, grid, batch, offsets, gridSize, orders, gather, scatter, patchSize, windows, map) { Feat = feat };
    }

    /// <summary>Patch windows per sample (spec section 1, the official flash-attention path): a sample of n points
    /// with n at most K is one window of its own n points; a longer one is padded to ceil(n/K)*K by repeating the points
    /// K positions earlier, so its last window holds its last K real points. The padded sequence lists the windows
    /// grouped by length (every K-window first, then each shorter length, longest first), so each group is one batched
    /// attention call and no sample's windows depend on its batch mates. Returns the sequence as point indices
    /// (gather), per point the slot that is its own (scatter), and the groups in sequence order.</summary>
    internal static (long[] Gather, long[] Scatter, WindowGroup[] Windows) PatchIndices(int[] order, int[] inverse, long[] offsets, int patch)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(patch);
        var samples = offsets.Length;
        var start = new long[samples];
        var count = new long[samples];
        var window = new int[samples];
        var padded = new long[samples];
        for (var b = 0; b < samples; b++)
        {
            start[b] = b == 0 ? 0 : offsets[b - 1];
            count[b] = offsets[b] - start[b];
            window[b] = (int)Math.Min(patch, count[b]);
            padded[b] = count[b] <= patch ? count[b] : (count[b] + patch - 1) / patch * patch;
        }

        var groups = new List<WindowGroup>();
        var slotStart = new long[samples];
        long at = 0;
        foreach (var length in window.Distinct().OrderDescending())
        {
            var groupStart = at;
            for (var b = 0; b < samples; b++)
            {
                if (window[b] != length) continue;
                slotStart[b] = at;
                at += padded[b];
            }

            groups.Add(new WindowGroup(length, at - groupStart));
        }

        var gather = new long[at];
        var slotOfSorted = new long[order.Length];
        for (var b = 0; b < samples; b++)
        {
            var n = count[b];
            for (long j = 0; j < padded[b]; j++)
            {
                var sorted = start[b] + (j < n ? j : j - patch);
                gather[slotStart[b] + j] = order[sorted];
                if (j < n) slotOfSorted[sorted] = slotStart[b] + j;
            }
        }

        var scatter = new long[order.Length];
        for (var i = 0; i < order.Length; i++) scatter[i] = slotOfSorted[inverse[i]];
        return (gather, scatter, [.. groups]);
    }

    /// <summary>Cumulative sample ends for contiguous, ordered batch indices.</summary>
    internal static long[] OffsetsOf(int[] batch)
    {
        var samples = batch.Length == 0 ? 0 : batch[^1] + 1;
        var offsets = new long[samples];
        for (var i = 0; i < batch.Length; i++)
        {
            if (i > 0 && batch[i] < batch[i - 1]) throw new ArgumentException("batch indices must be contiguous and ascending");
            offsets[batch[i]] = i + 1;
        }

        for (var b = 0; b < samples; b++)
            if (offsets[b] == 0 || (b > 0 && offsets[b] <= offsets[b - 1])) throw new ArgumentException($"sample {b} of the batch has no points");
        return offsets;
    }
}
