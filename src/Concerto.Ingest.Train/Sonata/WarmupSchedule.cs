namespace Concerto.Ingest.Train.Sonata;

/// <summary>Linear warm-up then constant: Sonata's schedule for mask size, mask ratio and teacher temperature.</summary>
public static class WarmupSchedule
{
    /// <summary><paramref name="start"/> at step 0, rising linearly to <paramref name="end"/> at
    /// <paramref name="warmupSteps"/>, constant after (and <paramref name="end"/> throughout when there is no
    /// warm-up).</summary>
    public static double Linear(double start, double end, long step, long warmupSteps)
    {
        if (warmupSteps <= 0 || step >= warmupSteps) return end;
        if (step <= 0) return start;
        return start + (end - start) * step / warmupSteps;
    }
}

/// <summary>The Sonata schedules of shared/spec/concerto.md section 2 over a run of <paramref name="TotalSteps"/> steps:
/// linear warm-up over the first <paramref name="WarmupFraction"/> of steps then constant for mask size (0.1 -> 0.4),
/// mask ratio (0.3 -> 0.7) and teacher temperature (0.04 -> 0.07); the EMA momentum rises on a cosine from 0.994 to 1
/// over the whole run. <paramref name="Settings"/> may replace the ranges (null: the spec's).</summary>
public sealed record SonataSchedules(long TotalSteps, double WarmupFraction = 0.05, Profiles.SonataSettings? Settings = null)
{
    private readonly Profiles.SonataSettings _settings = Settings ?? new Profiles.SonataSettings();

    public long TotalSteps { get; } = TotalSteps > 0
        ? TotalSteps
        : throw new ArgumentOutOfRangeException(nameof(TotalSteps), TotalSteps, "a run needs at least one step");

    public double WarmupFraction { get; } = WarmupFraction is >= 0 and <= 1
        ? WarmupFraction
        : throw new ArgumentOutOfRangeException(nameof(WarmupFraction), WarmupFraction, "the warm-up fraction must lie in [0, 1]");

    /// <summary>Warm-up length in steps: the fraction of the total, rounded down.</summary>
    public long WarmupSteps => (long)Math.Floor(TotalSteps * WarmupFraction);

    /// <summary>Side of the masking cubes, in scene units.</summary>
    public double MaskSize(long step) => WarmupSchedule.Linear(_settings.MaskSizeRange.Start, _settings.MaskSizeRange.End, step, WarmupSteps);

    /// <summary>Fraction of occupied cubes masked.</summary>
    public double MaskRatio(long step) => WarmupSchedule.Linear(_settings.MaskRatioRange.Start, _settings.MaskRatioRange.End, step, WarmupSteps);

    /// <summary>Teacher temperature tau_t of the Sinkhorn-Knopp targets.</summary>
    public double TeacherTemperature(long step) => WarmupSchedule.Linear(_settings.TeacherTemperatureRange.Start, _settings.TeacherTemperatureRange.End, step, WarmupSteps);

    /// <summary>Teacher EMA momentum.</summary>
    public double Momentum(long step) => TeacherEma.CosineMomentum(step, TotalSteps, _settings.MomentumRange.Start, _settings.MomentumRange.End);
}
