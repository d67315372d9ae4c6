using Concerto.Ingest.Core.Geometry;

namespace Concerto.Ingest.Reconstruction.Alignment;

/// <summary>Settings of the VGGT-Long window alignment.</summary>
/// <param name="HuberDelta">Residual (in the target's units) above which a pair's weight falls off as delta / r.</param>
/// <param name="MaxIterations">Reweighted solves after the initial confidence-weighted one.</param>
/// <param name="ConfidenceRatio">Pairs are kept when both confidences exceed this times the smaller of the two medians.</param>
/// <param name="Tolerance">IRLS stops once scale, rotation (radians) and translation change by less than this.</param>
public sealed record RobustSim3Settings(
    double HuberDelta = 0.1,
    int MaxIterations = 5,
    double ConfidenceRatio = 0.1,
    double Tolerance = 1e-10)
{
    public static RobustSim3Settings Default { get; } = new();
}

/// <param name="Transform">Maps source points onto target points.</param>
/// <param name="PairsKept">Pairs that passed the confidence filter.</param>
/// <param name="WeightedRmsResidual">sqrt(sum w r^2 / sum w) of the final transform with the final IRLS weights.</param>
/// <param name="Iterations">Reweighted solves performed (0 when MaxIterations is 0).</param>
public sealed record RobustSim3Result(Sim3 Transform, int PairsKept, double WeightedRmsResidual, int Iterations);

/// <summary>Robust Sim(3) between two chunks' points on their overlapping frames (VGGT-Long): confidence filter,
/// weights sqrt(c1 c2), weighted Umeyama inside Huber IRLS.</summary>
public static class RobustSim3
{
    /// <summary>Aligns <paramref name="source"/> (the new chunk) onto <paramref name="target"/> (the chunk already
    /// placed); pair i is (source[i], target[i]) with confidences (sourceConfidence[i], targetConfidence[i]).</summary>
    public static RobustSim3Result Estimate(
        IReadOnlyList<V3> source,
        IReadOnlyList<double> sourceConfidence,
        IReadOnlyList<V3> target,
        IReadOnlyList<double> targetConfidence,
        RobustSim3Settings? settings = null)
    {
        ArgumentNullException.ThrowIfNull(source);
        ArgumentNullException.ThrowIfNull(sourceConfidence);
        ArgumentNullException.ThrowIfNull(target);
        ArgumentNullException.ThrowIfNull(targetConfidence);
        settings ??= RobustSim3Settings.Default;
        var n = source.Count;
        if (target.Count != n || sourceConfidence.Count != n || targetConfidence.Count != n)
            throw new ArgumentException(
                $"points ({n}, {target.Count}) and confidences ({sourceConfidence.Count}, {targetConfidence.Count}) must have the same length",
                nameof(target));
        if (n == 0) throw new ArgumentException("no point pairs to align", nameof(source));
        if (!(settings.HuberDelta > 0) || settings.MaxIterations < 0)
            throw new ArgumentException("HuberDelta must be positive and MaxIterations non-negative", nameof(settings));

        // Medians over all pairs, before filtering.
        var threshold = settings.ConfidenceRatio * Math.Min(Median(sourceConfidence), Median(targetConfidence));
        var x = new List<V3>();
        var y = new List<V3>();
        var baseWeights = new List<double>();
        for (var i = 0; i < n; i++)
        {
            double c1 = sourceConfidence[i], c2 = targetConfidence[i];
            if (!(c1 > threshold && c2 > threshold)) continue; // also drops NaN
            x.Add(source[i]);
            y.Add(target[i]);
            baseWeights.Add(Math.Sqrt(c1 * c2));
        }

        var weights = baseWeights.ToArray();
        var transform = WeightedUmeyama.Estimate(x, y, weights);
        var residuals = Residuals(transform, x, y);
        var iterations = 0;
        while (iterations < settings.MaxIterations)
        {
            for (var i = 0; i < weights.Length; i++)
                weights[i] = baseWeights[i] * (residuals[i] <= settings.HuberDelta ? 1 : settings.HuberDelta / residuals[i]);
            var next = WeightedUmeyama.Estimate(x, y, weights);
            iterations++;
            var change = Change(transform, next);
            transform = next;
            residuals = Residuals(transform, x, y);
            if (change < settings.Tolerance) break;
        }

        double sumW = 0, sumWr2 = 0;
        for (var i = 0; i < weights.Length; i++)
        {
            sumW += weights[i];
            sumWr2 += weights[i] * residuals[i] * residuals[i];
        }

        return new RobustSim3Result(transform, x.Count, Math.Sqrt(sumWr2 / sumW), iterations);
    }

    private static double[] Residuals(Sim3 t, List<V3> x, List<V3> y)
    {
        var r = new double[x.Count];
        for (var i = 0; i < r.Length; i++) r[i] = (t.Apply(x[i]) - y[i]).Length;
        return r;
    }

    /// <summary>Largest of the relative scale change, the (small-angle) rotation change and the translation change.</summary>
    private static double Change(Sim3 a, Sim3 b)
    {
        // |Ra - Rb|_F = 2 sqrt(2) sin(angle / 2), about sqrt(2) * angle; unlike acos of the trace it resolves tiny angles.
        var diff = a.Rotation.ToArray().Zip(b.Rotation.ToArray()).Sum(p => (p.First - p.Second) * (p.First - p.Second));
        var angle = Math.Sqrt(diff / 2);
        return Math.Max(Math.Abs(b.Scale / a.Scale - 1), Math.Max(angle, (b.Translation - a.Translation).Length));
    }

    private static double Median(IReadOnlyList<double> values)
    {
        var sorted = values.ToArray();
        Array.Sort(sorted);
        var m = sorted.Length / 2;
        return sorted.Length % 2 == 1 ? sorted[m] : (sorted[m - 1] + sorted[m]) / 2;
    }
}
