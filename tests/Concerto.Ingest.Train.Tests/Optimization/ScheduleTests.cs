using Concerto.Ingest.Train.Optimization;

namespace Concerto.Ingest.Train.Tests.Optimization;

public sealed class ScheduleTests
{
    // 100 steps, 5% warm-up: phase 1 ends at step 0.05 * 100 - 1 = 4, phase 2 at step 99.
    // initial = 0.004 / 10 = 0.0004, min = 0.0004 / 1000 = 4e-7.
    [Theory]
    [InlineData(0, 0.0004)]
    [InlineData(2, 0.0022)]        // half-way up: 0.004 - 0.0036 / 2
    [InlineData(4, 0.004)]         // end of warm-up: the peak
    [InlineData(99, 4e-7)]         // last update: max / 10 / 1000
    public void OneCycle_GivesHandComputedRates_OverAHundredSteps(long step, double expected)
    {
        Assert.Equal(expected, OneCycle.LearningRate(step, 100, 0.004), 15);
    }

    [Fact]
    public void OneCycle_IsHalfwayBetweenPeakAndFloor_HalfwayDownTheAnnealing()
    {
        // 200 steps: warm-up ends at 9, annealing runs 9 -> 199; step 104 is pct 95 / 190 = 0.5.
        Assert.Equal((0.004 + 4e-7) / 2, OneCycle.LearningRate(104, 200, 0.004), 15);
        Assert.True(OneCycle.LearningRate(103, 200, 0.004) > OneCycle.LearningRate(104, 200, 0.004));
    }

    [Fact]
    public void OneCycle_KeepsPyTorchsRealValuedPhaseBoundary_WhenWarmupIsNotWhole()
    {
        // 30 steps: warm-up ends at 0.05 * 30 - 1 = 0.5, so step 1 is already annealing: pct (1 - 0.5) / (29 - 0.5).
        Assert.Equal(0.0004, OneCycle.LearningRate(0, 30, 0.004), 15);
        var pct = 0.5 / 28.5;
        Assert.Equal(4e-7 + ((0.004 - 4e-7) / 2 * (1 + Math.Cos(Math.PI * pct))), OneCycle.LearningRate(1, 30, 0.004), 15);
        Assert.Equal(0.004, OneCycle.LearningRate(0, 20, 0.004), 15);   // warm-up ends on step 0: its peak
    }

    [Fact]
    public void OneCycle_Throws_OutsideTheRun()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => OneCycle.LearningRate(100, 100, 0.004));
        Assert.Throws<ArgumentOutOfRangeException>(() => OneCycle.LearningRate(-1, 100, 0.004));
    }

    [Theory]
    [InlineData(0, 0.04)]
    [InlineData(25, 0.0634314575050762)]   // 0.2 - 0.08 * (1 + cos(pi / 4))
    [InlineData(50, 0.12)]
    [InlineData(100, 0.2)]
    [InlineData(150, 0.2)]                 // past the end: the final value, as Pointcept's CosineScheduler
    public void Cosine_GivesHandComputedWeightDecay(long step, double expected)
    {
        Assert.Equal(expected, CosineSchedule.Value(step, 100, 0.04, 0.2), 13);
    }

    [Fact]
    public void Cosine_RisesFromStartTowardEnd_ForTheTeacherMomentum()
    {
        Assert.Equal(0.994, CosineSchedule.Value(0, 1000, 0.994, 1), 15);
        Assert.InRange(CosineSchedule.Value(999, 1000, 0.994, 1), 0.99999, 1.0);
    }
}
