namespace Concerto.Ingest.Train.Data;

/// <summary>One step's batch: its epoch, its place in the epoch and the dataset rows it holds.</summary>
public sealed record SamplerBatch(int Step, int Epoch, int Index, int[] Rows);

/// <summary>
/// Shuffled batches of dataset rows, a pure function of (seed, epoch, step): epoch e visits every row once in an order
/// drawn from (seed, e) alone, and step s is batch s mod <see cref="BatchesPerEpoch"/> of epoch
/// s / <see cref="BatchesPerEpoch"/>. With no RNG state carried between steps, a run resumed at step S gets exactly the
/// batches an uninterrupted run would have. Safe to call from several threads.
/// </summary>
public sealed class EpochSampler
{
    private readonly int[] _rows;
    private EpochOrder? _cached; // the last epoch's order, so consecutive steps shuffle once per epoch

    /// <param name="rows">The rows to draw from (e.g. <see cref="TrainingDataset.ForSplit"/>), in a fixed order.</param>
    /// <param name="batchSize">Rows per batch.</param>
    /// <param name="seed">The run's seed.</param>
    /// <param name="dropLast">Leave out an epoch's last, short batch (the rows it would hold are left out of that epoch);
    /// otherwise it is kept, smaller.</param>
    /// <exception cref="ArgumentException">No rows, or fewer than <paramref name="batchSize"/> with
    /// <paramref name="dropLast"/>, so an epoch would hold no batch.</exception>
    public EpochSampler(IReadOnlyList<int> rows, int batchSize, int seed, bool dropLast = true)
    {
        ArgumentNullException.ThrowIfNull(rows);
        ArgumentOutOfRangeException.ThrowIfLessThan(batchSize, 1);
        _rows = [.. rows];
        BatchSize = batchSize;
        Seed = seed;
        DropLast = dropLast;
        BatchesPerEpoch = dropLast ? _rows.Length / batchSize : (_rows.Length + batchSize - 1) / batchSize;
        if (BatchesPerEpoch == 0)
            throw new ArgumentException(
                $"{_rows.Length} rows make no batch of {batchSize}{(dropLast ? " when the last short batch is dropped" : "")}; use a smaller batch size or more data.",
                nameof(rows));
    }

    public int BatchSize { get; }
    public int Seed { get; }
    public bool DropLast { get; }

    /// <summary>Rows drawn from.</summary>
    public int RowCount => _rows.Length;

    /// <summary>Steps per epoch.</summary>
    public int BatchesPerEpoch { get; }

    /// <summary>Epoch <paramref name="epoch"/>'s order of the rows: a Fisher-Yates shuffle driven by SplitMix64 seeded
    /// from (seed, epoch), independent of the runtime's Random.</summary>
    public int[] Order(int epoch)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(epoch);
        return (int[])OrderOf(epoch).Clone();
    }

    /// <summary>Step <paramref name="step"/>'s batch.</summary>
    public SamplerBatch At(int step)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(step);
        var epoch = step / BatchesPerEpoch;
        var index = step % BatchesPerEpoch;
        var order = OrderOf(epoch);
        var start = index * BatchSize;
        return new SamplerBatch(step, epoch, index, order[start..Math.Min(start + BatchSize, order.Length)]);
    }

    private int[] OrderOf(int epoch)
    {
        var cached = Volatile.Read(ref _cached);
        if (cached?.Epoch == epoch) return cached.Order;
        var order = (int[])_rows.Clone();
        var random = new SplitMix64(((ulong)(uint)Seed << 32) | (uint)epoch);
        for (var i = order.Length - 1; i > 0; i--)
        {
            var j = (int)random.Below((ulong)i + 1);
            (order[i], order[j]) = (order[j], order[i]);
        }

        Volatile.Write(ref _cached, new EpochOrder(epoch, order));
        return order;
    }

    private sealed record EpochOrder(int Epoch, int[] Order);

    /// <summary>SplitMix64 (Steele, Lea and Flood 2014): a small, well-mixed generator, fixed forever, so orders never
    /// change with the .NET version.</summary>
    private struct SplitMix64(ulong seed)
    {
        private ulong _state = seed;

        public ulong Next()
        {
            var z = _state += 0x9E3779B97F4A7C15UL;
            z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
            z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
            return z ^ (z >> 31);
        }

        /// <summary>Uniform in [0, <paramref name="bound"/>) without modulo bias (Lemire's multiply-and-reject).</summary>
        public ulong Below(ulong bound)
        {
            var product = (UInt128)Next() * bound;
            if ((ulong)product < bound)
            {
                var threshold = (0UL - bound) % bound;
                while ((ulong)product < threshold) product = (UInt128)Next() * bound;
            }

            return (ulong)(product >> 64);
        }
    }
}
