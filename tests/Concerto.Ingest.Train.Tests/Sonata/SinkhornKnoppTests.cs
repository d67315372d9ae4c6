using Concerto.Ingest.Train.Sonata;
using TorchSharp;
using static TorchSharp.torch;

namespace Concerto.Ingest.Train.Tests.Sonata;

public sealed class SinkhornKnoppTests
{
    /// <summary>
    /// 3 points, 2 prototypes, exp(logits / tau) = E = [[1, 4], [1, 1], [2, 1]] (logits = tau ln E, tau = 0.5).
    /// As Q = E^T [K x N] the prototype sums are S = (4, 6), so after one iteration (prototype rows / S / K, point columns
    /// / sum / N, times N) point n gets (E[n,0]/4, E[n,1]/6) normalised to sum 1:
    ///   n0: (1/4, 2/3) -> (3/11, 8/11);  n1: (1/4, 1/6) -> (3/5, 2/5);  n2: (1/2, 1/6) -> (3/4, 1/4).
    /// The prototype totals are then 357/220 and 303/220 (N/K = 3/2). The second iteration divides each column by those
    /// totals and renormalises each point:
    ///   n0: 3*303 : 8*357 -> (303/1255, 952/1255);  n1: 3*303 : 2*357 -> (303/541, 238/541);
    ///   n2: 3*303 : 1*357 -> (303/422, 119/422);  prototype 0 total 1.5195, nearer 3/2.
    /// </summary>
    [Fact]
    public void Targets_MatchTheHandWorkedIterations_OnThreePointsAndTwoPrototypes()
    {
        using var scope = NewDisposeScope();
        const double tau = 0.5;
        var logits = tensor(new[] { 1.0, 4, 1, 1, 2, 1 }, dtype: float64).reshape(3, 2).log() * tau;

        var one = SinkhornKnopp.Targets(logits, tau, iterations: 1);
        var oneExpected = tensor(new[] { 3.0 / 11, 8.0 / 11, 3.0 / 5, 2.0 / 5, 3.0 / 4, 1.0 / 4 }, dtype: float64).reshape(3, 2);
        Assert.True(allclose(one, oneExpected, rtol: 0, atol: 1e-12), one.str());

        var two = SinkhornKnopp.Targets(logits, tau, iterations: 2);
        var twoExpected = tensor(new[] { 303.0 / 1255, 952.0 / 1255, 303.0 / 541, 238.0 / 541, 303.0 / 422, 119.0 / 422 }, dtype: float64).reshape(3, 2);
        Assert.True(allclose(two, twoExpected, rtol: 0, atol: 1e-12), two.str());
        Assert.Equal(ScalarType.Float64, two.dtype);
        Assert.Equal(357.0 / 220, one[.., 0].sum().item<double>(), 12);
    }

    [Fact]
    public void Targets_RowsSumToOneAndPrototypeTotalsApproachUniform_AsIterationsGrow()
    {
        using var scope = NewDisposeScope();
        manual_seed(3);
        const int n = 200, k = 16;
        var logits = rand(n, k, dtype: float64) * 2 - 1;
        // Skew the logits toward prototype 0 so the raw softmax is far from uniform.
        logits[.., 0] += 0.1;
        double previous = double.PositiveInfinity;
        foreach (var iterations in new[] { 1, 3, 10, 50 })
        {
            var q = SinkhornKnopp.Targets(logits, 0.05, iterations);
            Assert.Equal(new long[] { n, k }, q.shape);
            Assert.True(allclose(q.sum(1), ones(n, dtype: float64), rtol: 0, atol: 1e-12));
            Assert.True(q.min().item<double>() > 0);
            var deviation = (q.sum(dim: 0) - (double)n / k).abs().max().item<double>();
            Assert.True(deviation < previous, $"{iterations} iterations: deviation {deviation} not below {previous}");
            previous = deviation;
        }

        Assert.True(previous < 1e-3 * n / k, $"after 50 iterations the prototype totals are still {previous} from N/K");
        var softmaxDeviation = (softmax(logits / 0.05, 1).sum(dim: 0) - (double)n / k).abs().max().item<double>();
        Assert.True(softmaxDeviation > 10 * previous);
    }

    /// <summary>Shifting every logit by 100 would overflow exp(100 / 0.04) in float32 without the max subtraction; with it
    /// the targets are unchanged. Gradients are never taken.</summary>
    [Fact]
    public void Targets_AreFiniteAndShiftInvariant_ForLargeFloat32Logits()
    {
        using var scope = NewDisposeScope();
        manual_seed(5);
        var logits = (rand(64, 8) * 2 - 1).requires_grad_(true);
        var plain = SinkhornKnopp.Targets(logits, 0.04);
        var shifted = SinkhornKnopp.Targets(logits + 100, 0.04);
        Assert.Equal(ScalarType.Float32, shifted.dtype);
        Assert.True(shifted.isfinite().all().item<bool>());
        Assert.True(allclose(plain, shifted, rtol: 1e-3, atol: 1e-6));   // float32 spacing at 100 is 7.6e-6, over tau 2e-4
        Assert.False(plain.requires_grad);
    }
}
