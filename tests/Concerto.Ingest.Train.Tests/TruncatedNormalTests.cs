using static TorchSharp.torch;

namespace Concerto.Ingest.Train.Tests;

public sealed class TruncatedNormalTests
{
    [Fact]
    public void Fill_DrawsNormalValuesWithTheGivenStd_WhenTheCutoffsAreFar()
    {
        using var scope = NewDisposeScope();
        manual_seed(1);
        var t = TruncatedNormal.Fill_(empty(400, 250), std: 0.02);
        Assert.InRange(t.std().item<float>(), 0.0198, 0.0202);
        Assert.InRange(t.mean().item<float>(), -2e-4, 2e-4);
        Assert.InRange(t.abs().max().item<float>(), 0.07, 0.15);   // about 4.5 sigma for 100k draws: not a constant
        manual_seed(1);
        Assert.True(t.eq(TruncatedNormal.Fill_(empty(400, 250), std: 0.02)).all().item<bool>());   // seeded by manual_seed
    }

    /// <summary>std 0.02 cut at a = -0.01, b = 0.03 (alpha = -0.5, beta = 1.5): the truncated mean is
    /// std * (phi(alpha) - phi(beta)) / (Phi(beta) - Phi(alpha)) = 0.02 * (0.352065 - 0.129518) / (0.933193 - 0.308538)
    /// = 0.0071254.</summary>
    [Fact]
    public void Fill_StaysWithinTheCutoffs_WithTheTruncatedMean()
    {
        using var scope = NewDisposeScope();
        manual_seed(2);
        var t = TruncatedNormal.Fill_(empty(100_000, dtype: float64), std: 0.02, a: -0.01, b: 0.03);
        Assert.True(t.min().item<double>() >= -0.01);
        Assert.True(t.max().item<double>() <= 0.03);
        Assert.Equal(0.0071254, t.mean().item<double>(), 3e-4);
    }
}
