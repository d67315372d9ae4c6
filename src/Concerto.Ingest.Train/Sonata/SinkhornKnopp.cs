using static TorchSharp.torch;

namespace Concerto.Ingest.Train.Sonata;

/// <summary>Sonata's teacher targets (shared/spec/concerto.md section 2): Sinkhorn-Knopp on exp(logits / tau_t), no
/// centering. The targets spread points evenly over the prototypes, which keeps the self-distillation from collapsing
/// onto a few of them.</summary>
public static class SinkhornKnopp
{
    /// <summary>Soft assignments of N points to K prototypes, [N, K], each row summing to 1.</summary>
    /// <remarks>With Q = exp(logits / tau)^T, [K prototypes x N points]: normalise the total to 1; then, per iteration,
    /// divide each prototype row by its sum and by K, and each point column by its sum and by N; finally multiply by N
    /// (so every point's assignment sums to 1, and each prototype's total approaches N / K as iterations grow). The
    /// global maximum is subtracted before exp for range; the first normalisation cancels it exactly. Computed without
    /// gradients, in float64 for float64 logits and float32 otherwise (the result has that dtype).</remarks>
    /// <param name="logits">Teacher logits [N, K] (cosines from <see cref="OnlineClusterHead"/>).</param>
    /// <param name="temperature">The teacher temperature tau_t (0.04 -> 0.07 over the warm-up).</param>
    /// <param name="iterations">Sinkhorn iterations; Sonata uses 3.</param>
    public static Tensor Targets(Tensor logits, double temperature, int iterations = 3)
    {
        ArgumentNullException.ThrowIfNull(logits);
        if (logits.dim() != 2) throw new ArgumentException($"logits must be [N, K], got [{string.Join(", ", logits.shape)}]", nameof(logits));
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(temperature);
        ArgumentOutOfRangeException.ThrowIfNegative(iterations);
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var points = logits.shape[0];
        var prototypes = logits.shape[1];
        if (points == 0) return empty(0, prototypes, dtype: logits.dtype == ScalarType.Float64 ? ScalarType.Float64 : ScalarType.Float32, device: logits.device).MoveToOuterDisposeScope();
        var work = logits.detach().to(logits.dtype == ScalarType.Float64 ? ScalarType.Float64 : ScalarType.Float32);
        var q = ((work - work.max()) / temperature).exp_().t();   // [K, N]
        q.div_(q.sum());
        for (var i = 0; i < iterations; i++)
        {
            q.div_(q.sum(dim: 1, keepdim: true)).div_(prototypes);   // each prototype row sums to 1/K
            q.div_(q.sum(dim: 0, keepdim: true)).div_(points);       // each point column sums to 1/N
        }

        return q.mul_(points).t().contiguous().MoveToOuterDisposeScope();
    }
}
