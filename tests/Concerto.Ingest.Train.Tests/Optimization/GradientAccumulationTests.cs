using Concerto.Ingest.Train.Optimization;

namespace Concerto.Ingest.Train.Tests.Optimization;

public sealed class GradientAccumulationTests
{
    [Theory]
    [InlineData(8, int.MaxValue, 12, 96, 0.004)]     // divides 96: the spec exactly
    [InlineData(48, 1, 1, 48, 0.002)]                // memory short, no accumulation: halve batch and lr
    [InlineData(10, int.MaxValue, 9, 90, 0.00375)]   // does not divide: 9 x 10 = 90, lr 0.004 * 90 / 96
    [InlineData(8, 4, 4, 32, 0.004 / 3)]             // accumulation capped at 4: batch 32, a third of the lr
    [InlineData(128, int.MaxValue, 1, 128, 0.004 * 128 / 96)]
    public void Plan_ScalesLearningRateLinearlyWithTheEffectiveBatch(int micro, int maxSteps, int steps, int effective, double lr)
    {
        var plan = GradientAccumulation.Plan(micro, maxAccumulationSteps: maxSteps);

        Assert.Equal(micro, plan.MicroBatch);
        Assert.Equal(steps, plan.AccumulationSteps);
        Assert.Equal(effective, plan.EffectiveBatch);
        Assert.Equal(lr, plan.LearningRate, 15);
        Assert.Equal(1.0 / steps, plan.LossScale, 15);
    }

    [Fact]
    public void UpdatesPerEpoch_DropsTheIncompleteBatch()
    {
        var plan = GradientAccumulation.Plan(16);
        Assert.Equal(10, plan.UpdatesPerEpoch(1000)); // 1000 / 96 = 10 r 40
        Assert.Equal(0.002, GradientAccumulation.LearningRate(48), 15);
        Assert.Throws<ArgumentOutOfRangeException>(() => GradientAccumulation.Plan(0));
    }
}
