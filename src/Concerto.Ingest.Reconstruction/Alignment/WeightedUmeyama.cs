using Concerto.Ingest.Core.Geometry;

namespace Concerto.Ingest.Reconstruction.Alignment;

/// <summary>Closed-form weighted least-squares similarity between point sets (Umeyama 1991): minimises
/// sum_i w_i |s R x_i + t - y_i|^2 over scale s, rotation R and translation t.</summary>
public static class WeightedUmeyama
{
    /// <summary>Relative size of the second principal variance of the source below which it counts as collinear.</summary>
    private const double CollinearTolerance = 1e-12;

    /// <summary>Unit weights.</summary>
    public static Sim3 Estimate(IReadOnlyList<V3> source, IReadOnlyList<V3> target)
    {
        ArgumentNullException.ThrowIfNull(source);
        return Estimate(source, target, Enumerable.Repeat(1.0, source.Count).ToArray());
    }

    /// <summary>The similarity mapping <paramref name="source"/> onto <paramref name="target"/>; weights must be
    /// non-negative and finite, and at least three non-collinear source points must carry weight.</summary>
    public static Sim3 Estimate(IReadOnlyList<V3> source, IReadOnlyList<V3> target, IReadOnlyList<double> weights)
    {
        ArgumentNullException.ThrowIfNull(source);
        ArgumentNullException.ThrowIfNull(target);
        ArgumentNullException.ThrowIfNull(weights);
        if (source.Count != target.Count || source.Count != weights.Count)
            throw new ArgumentException(
                $"source ({source.Count}), target ({target.Count}) and weights ({weights.Count}) must have the same length",
                nameof(weights));

        double total = 0;
        var weighted = 0;
        for (var i = 0; i < weights.Count; i++)
        {
            var w = weights[i];
            if (!double.IsFinite(w) || w < 0)
                throw new ArgumentException($"weight {i} is {w}; weights must be finite and non-negative", nameof(weights));
            total += w;
            if (w > 0) weighted++;
        }

        if (weighted < 3)
            throw new ArgumentException(
                $"a similarity needs at least 3 points with positive weight; got {weighted} of {source.Count}", nameof(source));
        if (!(total > 0)) throw new ArgumentException("the total weight is zero", nameof(weights));

        var muX = V3.Zero;
        var muY = V3.Zero;
        for (var i = 0; i < source.Count; i++)
        {
            muX += weights[i] * source[i];
            muY += weights[i] * target[i];
        }

        muX /= total;
        muY /= total;

        var cov = new Mat3(0, 0, 0, 0, 0, 0, 0, 0, 0);    // Sigma_xy = sum w (y - muY)(x - muX)^T / W
        var covX = new Mat3(0, 0, 0, 0, 0, 0, 0, 0, 0);   // source covariance, only to detect collinear input
        for (var i = 0; i < source.Count; i++)
        {
            if (weights[i] == 0) continue;
            var dx = source[i] - muX;
            cov += Mat3.Outer(target[i] - muY, dx) * weights[i];
            covX += Mat3.Outer(dx, dx) * weights[i];
        }

        cov *= 1 / total;
        covX *= 1 / total;
        var varX = covX.Trace;
        var (principal, _) = covX.SymmetricEigen();
        if (!(varX > 0) || principal.Y <= CollinearTolerance * principal.Z)
            throw new ArgumentException(
                "the weighted source points are coincident or collinear, so the rotation is not determined", nameof(source));

        var (u, d, v) = cov.Svd();
        // Reflection fix: flip the weakest axis when U V^T would be improper.
        var sign = u.Determinant() * v.Determinant() < 0 ? -1.0 : 1.0;
        var signs = new Mat3(1, 0, 0, 0, 1, 0, 0, 0, sign);
        var rotation = u * signs * v.Transpose();
        var scale = (d.X + d.Y + sign * d.Z) / varX;
        if (!(scale > 0))
            throw new ArgumentException("the target points are degenerate (no positive scale fits)", nameof(target));
        return new Sim3(scale, rotation, muY - scale * (rotation * muX));
    }
}
