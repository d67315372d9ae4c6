using TorchSharp;
using static TorchSharp.torch;

namespace Concerto.Ingest.Train.Evaluation;

/// <summary>The linear probe's losses (spec section 3: cross-entropy + Lovasz): Lovasz-softmax is the convex surrogate of
/// per-class Jaccard loss, averaged over the classes present in the labels.</summary>
public static class SegmentationLosses
{
    /// <summary>Lovasz-softmax over points: per present class, the errors |fg - p_c| sorted in decreasing order dotted
    /// with the gradient of the Lovasz extension of the Jaccard loss at that order.</summary>
    public static Tensor LovaszSoftmax(Tensor probabilities /*[N, C]*/, Tensor labels /*[N] long, no ignored points*/)
    {
        ArgumentNullException.ThrowIfNull(probabilities);
        ArgumentNullException.ThrowIfNull(labels);
        using var scope = NewDisposeScope();
        var present = labels.unique().output.cpu().data<long>().ToArray();
        var losses = new List<Tensor>(present.Length);
        foreach (var c in present)
        {
            var foreground = labels.eq(c).to(probabilities.dtype);
            var errors = (foreground - probabilities[.., c]).abs();
            var (sorted, order) = errors.sort(0, descending: true);
            losses.Add(sorted.dot(JaccardGradient(foreground.index_select(0, order))));
        }

        return stack(losses).mean().MoveToOuterDisposeScope();
    }

    /// <summary>For foreground indicators sorted by decreasing error: J_i = 1 - (gts - cumsum fg)_i / (gts + cumsum(1 - fg))_i,
    /// differenced (J_0, J_1 - J_0, ...).</summary>
    internal static Tensor JaccardGradient(Tensor sortedForeground)
    {
        var total = sortedForeground.sum();
        var intersection = total - sortedForeground.cumsum(0);
        var union = total + (1 - sortedForeground).cumsum(0);
        var jaccard = 1 - intersection / union;
        if (jaccard.shape[0] > 1)
            jaccard = cat([jaccard[..1], jaccard[1..] - jaccard[..^1]]);
        return jaccard;
    }
}
