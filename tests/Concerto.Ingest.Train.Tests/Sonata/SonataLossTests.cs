using Concerto.Ingest.Train.Sonata;
using static TorchSharp.torch;

namespace Concerto.Ingest.Train.Tests.Sonata;

public sealed class SonataLossTests
{
    /// <summary>
    /// Three pairs, tau_s = 0.1, samples 0 (pairs 0, 1), 1 (none), 2 (pair 2):
    ///   pair 0: s / 0.1 = (ln 3, 0) -> softmax (3/4, 1/4), q = (1/2, 1/2): loss (ln 4/3 + ln 4) / 2 = ln(16/3) / 2
    ///   pair 1: s = (0, 0) -> (1/2, 1/2), q = (1, 0): loss ln 2
    ///   pair 2: s / 0.1 = (0, ln 3) -> (1/4, 3/4), q = (0, 1): loss ln 4/3
    /// Sample means: (ln(16/3)/2 + ln 2) / 2 and ln 4/3; the loss is their mean (sample 1 has no pairs and does not
    /// count) = 0.526375, not the mean over pairs (0.605939).
    /// Gradients: (softmax - q) / tau times each pair's weight (1/4 for pairs 0 and 1, 1/2 for pair 2).
    /// </summary>
    [Fact]
    public void PairLoss_AveragesPerSampleThenOverSamplesWithPairs_ByHand()
    {
        using var scope = NewDisposeScope();
        var ln3 = Math.Log(3);
        var student = tensor(new[] { 0.1 * ln3, 0, 0, 0, 0, 0.1 * ln3 }, dtype: float64).reshape(3, 2).requires_grad_(true);
        var targets = tensor(new[] { 0.5, 0.5, 1, 0, 0, 1 }, dtype: float64).reshape(3, 2);
        var sample = tensor(new long[] { 0, 0, 2 });

        var loss = SonataLoss.PairLoss(student, targets, sample, groups: 3);

        var expected = ((Math.Log(16.0 / 3) / 2 + Math.Log(2)) / 2 + Math.Log(4.0 / 3)) / 2;
        Assert.Equal(expected, loss.item<double>(), 12);
        Assert.Equal(0.526375, loss.item<double>(), 6);

        loss.backward();
        var expectedGrad = new[] { (0.75 - 0.5) / 0.1 / 4, (0.25 - 0.5) / 0.1 / 4, (0.5 - 1) / 0.1 / 4, (0.5 - 0) / 0.1 / 4, (0.25 - 0) / 0.1 / 2, (0.75 - 1) / 0.1 / 2 };
        Assert.Equal(expectedGrad, student.grad!.data<double>().ToArray(), (a, b) => Math.Abs(a - b) < 1e-12);
    }

    [Fact]
    public void PairLoss_IsAZeroThatBackpropagates_WhenThereAreNoPairs()
    {
        using var scope = NewDisposeScope();
        var student = zeros(0, 4).requires_grad_(true);
        var loss = SonataLoss.PairLoss(student, zeros(0, 4), zeros(0, dtype: int64), groups: 2);
        Assert.Equal(0, loss.item<float>());
        loss.backward();
        Assert.NotNull(student.grad);
        Assert.Throws<ArgumentException>(() => SonataLoss.PairLoss(zeros(3, 4), zeros(3, 5), zeros(3, dtype: int64), 1));
    }
}
