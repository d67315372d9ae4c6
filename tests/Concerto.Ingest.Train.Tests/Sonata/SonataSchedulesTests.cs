using Concerto.Ingest.Train.Sonata;

namespace Concerto.Ingest.Train.Tests.Sonata;

public sealed class SonataSchedulesTests
{
    [Fact]
    public void Linear_RisesOverTheWarmup_ThenStaysAtTheEnd()
    {
        Assert.Equal(0.1, WarmupSchedule.Linear(0.1, 0.4, 0, 100), 12);
        Assert.Equal(0.25, WarmupSchedule.Linear(0.1, 0.4, 50, 100), 12);
        Assert.Equal(0.37, WarmupSchedule.Linear(0.1, 0.4, 90, 100), 12);
        Assert.Equal(0.4, WarmupSchedule.Linear(0.1, 0.4, 100, 100), 12);
        Assert.Equal(0.4, WarmupSchedule.Linear(0.1, 0.4, 5000, 100), 12);
        Assert.Equal(0.4, WarmupSchedule.Linear(0.1, 0.4, 0, 0), 12);
    }

    /// <summary>1000 steps, 5% warm-up = 50 steps: at step 25 each warm-up value is half-way.</summary>
    [Fact]
    public void SonataSchedules_GiveTheSpecValues()
    {
        var s = new SonataSchedules(1000);
        Assert.Equal(50, s.WarmupSteps);
        Assert.Equal(0.1, s.MaskSize(0), 12);
        Assert.Equal(0.25, s.MaskSize(25), 12);
        Assert.Equal(0.4, s.MaskSize(50), 12);
        Assert.Equal(0.3, s.MaskRatio(0), 12);
        Assert.Equal(0.5, s.MaskRatio(25), 12);
        Assert.Equal(0.7, s.MaskRatio(999), 12);
        Assert.Equal(0.04, s.TeacherTemperature(0), 12);
        Assert.Equal(0.055, s.TeacherTemperature(25), 12);
        Assert.Equal(0.07, s.TeacherTemperature(60), 12);
        Assert.Equal(0.994, s.Momentum(0), 12);
        Assert.Equal(0.997, s.Momentum(500), 12);
        Assert.Equal(1.0, s.Momentum(1000), 12);
        Assert.Equal(20, new SonataSchedules(200, 0.1).WarmupSteps);
        Assert.Throws<ArgumentOutOfRangeException>(() => new SonataSchedules(0));
        Assert.Throws<ArgumentOutOfRangeException>(() => new SonataSchedules(10, 1.5));
    }
}
