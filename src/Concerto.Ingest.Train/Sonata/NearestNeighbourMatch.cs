using TorchSharp;
using static TorchSharp.torch;

namespace Concerto.Ingest.Train.Sonata;

/// <summary>Sonata's point matching between a student view and a teacher view (shared/spec/concerto.md section 2):
/// each student point is paired with its nearest teacher point of the same sample, on original (pre-augmentation)
/// coordinates, and the pair is kept when the distance is below 0.32.</summary>
public static class NearestNeighbourMatch
{
    /// <summary>Distances computed at once: at most this many query-by-reference entries (256 MiB in float32).</summary>
    public const long DefaultChunkElements = 1L << 26;

    /// <summary>At most this many queries per distance chunk.</summary>
    internal const long MaxChunkRows = 4096;

    /// <summary>Pairs (query index, reference index), both indices into the concatenated batches, in ascending query
    /// order; queries whose nearest reference lies at <paramref name="maxDistance"/> or farther have no pair.</summary>
    /// <remarks>The nearest reference comes from <c>cdist</c> over chunks of queries, so memory stays bounded for
    /// large samples; the kept distance is then recomputed exactly for the threshold. No gradients.</remarks>
    /// <param name="queryCoord">Query (student) original coordinates [Nq, 3].</param>
    /// <param name="queryOffsets">Cumulative ends of the query samples: sample b is [offsets[b-1], offsets[b]).</param>
    /// <param name="referenceCoord">Reference (teacher) original coordinates [Nr, 3].</param>
    /// <param name="referenceOffsets">Cumulative ends of the reference samples, as many as the query samples.</param>
    /// <param name="maxDistance">Pairs at this distance or farther are dropped.</param>
    public static (Tensor QueryIndex, Tensor ReferenceIndex) Match(
        Tensor queryCoord, long[] queryOffsets, Tensor referenceCoord, long[] referenceOffsets, double maxDistance = 0.32) =>
        Match(queryCoord, queryOffsets, referenceCoord, referenceOffsets, maxDistance, DefaultChunkElements);

    /// <summary><see cref="Match(Tensor, long[], Tensor, long[], double)"/> with a chosen bound on the distance entries
    /// computed at once (tests use small chunks).</summary>
    internal static (Tensor QueryIndex, Tensor ReferenceIndex) Match(
        Tensor queryCoord, long[] queryOffsets, Tensor referenceCoord, long[] referenceOffsets, double maxDistance, long chunkElements)
    {
        ArgumentNullException.ThrowIfNull(queryCoord);
        ArgumentNullException.ThrowIfNull(referenceCoord);
        CheckOffsets(queryCoord, queryOffsets, nameof(queryOffsets));
        CheckOffsets(referenceCoord, referenceOffsets, nameof(referenceOffsets));
        if (queryOffsets.Length != referenceOffsets.Length)
            throw new ArgumentException($"{queryOffsets.Length} query samples but {referenceOffsets.Length} reference samples", nameof(referenceOffsets));
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(chunkElements);

        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var device = queryCoord.device;
        var dtype = queryCoord.dtype == ScalarType.Float64 ? ScalarType.Float64 : ScalarType.Float32;
        var query = queryCoord.detach().to(dtype);
        var reference = referenceCoord.detach().to(dtype, device);
        var queryIndices = new List<Tensor>();
        var referenceIndices = new List<Tensor>();
        long queryStart = 0, referenceStart = 0;
        for (var b = 0; b < queryOffsets.Length; b++)
        {
            long queryEnd = queryOffsets[b], referenceEnd = referenceOffsets[b];
            var referenceCount = referenceEnd - referenceStart;
            if (queryEnd > queryStart && referenceCount > 0)
            {
                var sampleReference = reference.narrow(0, referenceStart, referenceCount);
                var rows = Math.Clamp(chunkElements / referenceCount, 1, MaxChunkRows);
                for (var start = queryStart; start < queryEnd; start += rows)
                {
                    // Each chunk's distance matrix dies with its scope; only the kept indices move out.
                    using var chunkScope = NewDisposeScope();
                    var count = Math.Min(rows, queryEnd - start);
                    var chunk = query.narrow(0, start, count);
                    var nearest = cdist(chunk, sampleReference).argmin(1);
                    var distance = (chunk - sampleReference.index_select(0, nearest)).square().sum(1).sqrt();
                    var keep = distance.lt(maxDistance).nonzero().squeeze(1);
                    queryIndices.Add((keep + start).MoveToOuterDisposeScope());
                    referenceIndices.Add((nearest.index_select(0, keep) + referenceStart).MoveToOuterDisposeScope());
                }
            }

            queryStart = queryEnd;
            referenceStart = referenceEnd;
        }

        if (queryIndices.Count == 0)
            return (empty(0, dtype: int64, device: device).MoveToOuterDisposeScope(), empty(0, dtype: int64, device: device).MoveToOuterDisposeScope());
        return (cat(queryIndices, 0).MoveToOuterDisposeScope(), cat(referenceIndices, 0).MoveToOuterDisposeScope());
    }

    private static void CheckOffsets(Tensor coord, long[] offsets, string name)
    {
        ArgumentNullException.ThrowIfNull(offsets, name);
        if (coord.dim() != 2 || coord.shape[1] != 3)
            throw new ArgumentException($"coordinates must be [N, 3], got [{string.Join(", ", coord.shape)}]", name);
        long previous = 0;
        foreach (var end in offsets)
        {
            if (end < previous) throw new ArgumentException($"offsets must be non-decreasing cumulative ends, got [{string.Join(", ", offsets)}]", name);
            previous = end;
        }

        if (previous != coord.shape[0])
            throw new ArgumentException($"the last offset ({previous}) must equal the point count ({coord.shape[0]})", name);
    }
}
