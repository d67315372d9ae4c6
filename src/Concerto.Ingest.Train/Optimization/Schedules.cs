namespace Concerto.Ingest.Train.Optimization;

/// <summary>PyTorch's OneCycleLR with <c>anneal_strategy="cos"</c> and <c>three_phase=False</c>, as a pure function of the
/// step (spec section 2: 5% warm-up, div_factor 10, final_div_factor 1000). Step s is the learning rate of the s-th
/// optimizer update (0-based): PyTorch sets it at construction and after each <c>scheduler.step()</c>.</summary>
public static class OneCycle
{
    /// <summary>The learning rate at <paramref name="step"/> of <paramref name="totalSteps"/>.</summary>
    /// <remarks>Phase 1 runs from step 0 (max / div) to step <c>warmupFraction * totalSteps - 1</c> (max); phase 2 from there
    /// to step <c>totalSteps - 1</c> (max / div / finalDiv); each is <c>end + (start - end) / 2 * (1 + cos(pi * pct))</c>.
    /// Phase boundaries are real numbers, as in PyTorch. Where PyTorch divides by zero (warm-up ending on step 0) the
    /// warm-up counts as done.</remarks>
    public static double LearningRate(long step, long totalSteps, double maxLr, double warmupFraction = 0.05,
        double divFactor = 10, double finalDivFactor = 1000)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(totalSteps, 2);
        if (step < 0 || step >= totalSteps)
            throw new ArgumentOutOfRangeException(nameof(step), step, $"Step must be in 0..{totalSteps - 1}.");
        if (!(warmupFraction > 0 && warmupFraction < 1))
            throw new ArgumentOutOfRangeException(nameof(warmupFraction), warmupFraction, "Warm-up fraction must be in (0, 1).");

        var initial = maxLr / divFactor;
        var min = initial / finalDivFactor;
        var warmupEnd = (warmupFraction * totalSteps) - 1;
        var end = totalSteps - 1.0;
        return step <= warmupEnd
            ? Anneal(initial, maxLr, Fraction(step, 0, warmupEnd))
            : Anneal(maxLr, min, Fraction(step, warmupEnd, end));
    }

    private static double Fraction(double step, double start, double end) => end == start ? 1 : (step - start) / (end - start);

    internal static double Anneal(double start, double end, double pct) => end + ((start - end) / 2 * (Math.Cos(Math.PI * pct) + 1));
}

/// <summary>Pointcept's CosineScheduler without warm-up (the weight decay 0.04 -> 0.2 of spec section 2 and the teacher
/// momentum 0.994 -> 1): <c>end + (start - end) / 2 * (1 + cos(pi * step / total))</c>, and <c>end</c> from step
/// <c>total</c> on. The last update (step total - 1) is therefore a hair short of <c>end</c>, as in Pointcept.</summary>
public static class CosineSchedule
{
    public static double Value(long step, long total, double start, double end)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(step);
        ArgumentOutOfRangeException.ThrowIfLessThan(total, 1);
        return step >= total ? end : OneCycle.Anneal(start, end, (double)step / total);
    }
}
