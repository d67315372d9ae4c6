using TorchSharp;
using static TorchSharp.torch;

namespace Concerto.Ingest.Train.Data;

/// <summary>Pointcept-style batching: samples' points concatenated in order, with cumulative offsets and a per-point
/// batch index.</summary>
public static class Collation
{
    /// <summary>Concatenates the per-point arrays of <paramref name="samples"/> in order. A sample without labels
    /// contributes -1 (ignore) to <see cref="CollatedPoints.Segment"/>.</summary>
    /// <exception cref="ArgumentException">No samples, or a sample whose arrays do not hold 3 values (1 for labels) per point.</exception>
    public static CollatedPoints Collate(IReadOnlyList<PointSample> samples)
    {
        ArgumentNullException.ThrowIfNull(samples);
        if (samples.Count == 0) throw new ArgumentException("a batch needs at least one sample", nameof(samples));
        var offsets = new long[samples.Count];
        long total = 0;
        for (var b = 0; b < samples.Count; b++)
        {
            var s = samples[b] ?? throw new ArgumentException($"sample {b} is null", nameof(samples));
            var n = s.Count;
            if (s.Coord.Length != 3 * n || s.Color.Length != 3 * n || s.Normal.Length != 3 * n || (s.Segment is { } l && l.Length != n))
                throw new ArgumentException(
                    $"sample {b} ({s.Key}) has {n} points but {s.Coord.Length} coord, {s.Color.Length} color, {s.Normal.Length} normal values "
                    + $"and {s.Segment?.Length.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "no"} labels; expected 3 values (1 label) per point",
                    nameof(samples));
            total += n;
            offsets[b] = total;
        }

        var count = checked((int)total);
        var coord = new float[3 * count];
        var color = new float[3 * count];
        var normal = new float[3 * count];
        var segment = new int[count];
        var source = new int[count];
        var batch = new int[count];
        var hasSegment = false;
        var start = 0;
        for (var b = 0; b < samples.Count; b++)
        {
            var s = samples[b];
            var n = s.Count;
            s.Coord.CopyTo(coord, 3 * start);
            s.Color.CopyTo(color, 3 * start);
            s.Normal.CopyTo(normal, 3 * start);
            if (s.Segment is { } labels)
            {
                labels.CopyTo(segment, start);
                hasSegment = true;
            }
            else
            {
                segment.AsSpan(start, n).Fill(-1);
            }

            s.SourceIndex.CopyTo(source, start);
            batch.AsSpan(start, n).Fill(b);
            start += n;
        }

        return new CollatedPoints(coord, color, normal, segment, hasSegment, source, batch, offsets);
    }
}

/// <summary>A batch's points on the CPU: the samples' arrays concatenated in order (row-major, 3 values a point for
/// <see cref="Coord"/>, <see cref="Color"/> and <see cref="Normal"/>).</summary>
/// <param name="Coord">Positions (N x 3).</param>
/// <param name="Color">Colours in [0, 255] (N x 3).</param>
/// <param name="Normal">Normals (N x 3).</param>
/// <param name="Segment">Labels, -1 where unknown and for every point of an unlabelled sample (N).</param>
/// <param name="HasSegment">Whether any sample carried labels.</param>
/// <param name="SourceIndex">Each point's index in its own sample's stored segment (N).</param>
/// <param name="Batch">Each point's sample (N).</param>
/// <param name="Offsets">Pointcept offsets: Offsets[b] is the end (exclusive) of sample b's points.</param>
public sealed record CollatedPoints(
    float[] Coord, float[] Color, float[] Normal, int[] Segment, bool HasSegment, int[] SourceIndex, int[] Batch, long[] Offsets)
{
    /// <summary>Input channels of the embedding: coord (3), colour / 255 (3), normal (3).</summary>
    public const int FeatureChannels = 9;

    /// <summary>Points in the batch.</summary>
    public int Count => Batch.Length;

    /// <summary>Samples in the batch.</summary>
    public int BatchSize => Offsets.Length;

    /// <summary>The model's input (spec section 1) on <paramref name="device"/>: coord [N, 3] float32,
    /// feat [N, 9] float32 = [coord, colour / 255, normal], segment [N] int64, batch [N] int64. The caller owns (and
    /// disposes) the result; no other tensors outlive the call.</summary>
    public PointTensors ToTensors(Device device)
    {
        ArgumentNullException.ThrowIfNull(device);
        var n = Count;
        var feat = new float[FeatureChannels * n];
        for (var i = 0; i < n; i++)
        {
            for (var a = 0; a < 3; a++)
            {
                feat[FeatureChannels * i + a] = Coord[3 * i + a];
                feat[FeatureChannels * i + 3 + a] = Color[3 * i + a] / 255f;
                feat[FeatureChannels * i + 6 + a] = Normal[3 * i + a];
            }
        }

        using var scope = NewDisposeScope();
        // Built on the CPU from the arrays (copied), then moved; the CPU copies die with the scope when device is a GPU.
        var coord = tensor(Coord, [n, 3]).to(device);
        var features = tensor(feat, [n, FeatureChannels]).to(device);
        var segment = tensor(Array.ConvertAll(Segment, v => (long)v), [n]).to(device);
        var batch = tensor(Array.ConvertAll(Batch, v => (long)v), [n]).to(device);
        return new PointTensors(coord.MoveToOuterDisposeScope(), features.MoveToOuterDisposeScope(), segment.MoveToOuterDisposeScope(),
            batch.MoveToOuterDisposeScope(), (long[])Offsets.Clone());
    }
}

/// <summary>A batch's model input as tensors (see <see cref="CollatedPoints.ToTensors"/>); disposing it disposes them.</summary>
public sealed class PointTensors : IDisposable
{
    internal PointTensors(Tensor coord, Tensor feat, Tensor segment, Tensor batch, long[] offsets) =>
        (Coord, Feat, Segment, Batch, Offsets) = (coord, feat, segment, batch, offsets);

    /// <summary>Positions [N, 3] float32.</summary>
    public Tensor Coord { get; }

    /// <summary>Embedding input [N, 9] float32: coord, colour / 255, normal.</summary>
    public Tensor Feat { get; }

    /// <summary>Labels [N] int64, -1 where unknown.</summary>
    public Tensor Segment { get; }

    /// <summary>Sample of each point [N] int64.</summary>
    public Tensor Batch { get; }

    /// <summary>Pointcept offsets: the end of each sample's points.</summary>
    public long[] Offsets { get; }

    public void Dispose()
    {
        Coord.Dispose();
        Feat.Dispose();
        Segment.Dispose();
        Batch.Dispose();
    }
}
