namespace Concerto.Ingest.Train.Optimization;

/// <summary>How one optimizer update is assembled from micro-batches.</summary>
/// <param name="MicroBatch">Samples per forward/backward pass.</param>
/// <param name="AccumulationSteps">Micro-batches summed into one update.</param>
/// <param name="EffectiveBatch">Samples per update: <paramref name="MicroBatch"/> x <paramref name="AccumulationSteps"/>.</param>
/// <param name="LearningRate">Peak learning rate for <paramref name="EffectiveBatch"/> by the linear rule.</param>
public sealed record AccumulationPlan(int MicroBatch, int AccumulationSteps, int EffectiveBatch, double LearningRate)
{
    /// <summary>Multiply each micro-batch loss by this, so the summed gradients are the mean over the effective batch
    /// (the spec's losses are means over samples).</summary>
    public double LossScale => 1.0 / AccumulationSteps;

    /// <summary>Optimizer updates per epoch of <paramref name="samples"/> samples, incomplete batches dropped (Pointcept's
    /// train loader drops the last one).</summary>
    public long UpdatesPerEpoch(long samples) => samples / EffectiveBatch;
}

/// <summary>Batch-size planning for spec sections 2 and 3: lr 0.004 at a total batch of 96, and "halve batch and lr
/// together when memory is short", i.e. the peak learning rate scales linearly with the effective batch.</summary>
/// <remarks>Accumulation reproduces the mean gradient, and the trainer's teacher pass over every micro-batch of a step
/// first normalises Sinkhorn-Knopp targets over the whole effective batch; what stays per micro-batch is only the grid
/// minimum (per view here anyway).</remarks>
public static class GradientAccumulation
{
    public const int SpecBatch = 96;
    public const double SpecLearningRate = 0.004;

    /// <summary>lr = 0.004 x effective / 96 (for other references pass them).</summary>
    public static double LearningRate(int effectiveBatch, double referenceLr = SpecLearningRate, int referenceBatch = SpecBatch)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(effectiveBatch);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(referenceBatch);
        return referenceLr * effectiveBatch / referenceBatch;
    }

    /// <summary>The largest effective batch not above <paramref name="targetBatch"/> made of whole micro-batches, with at
    /// most <paramref name="maxAccumulationSteps"/> of them, and its linearly scaled learning rate. A micro-batch that
    /// divides 96 reproduces the spec exactly (96 / m steps, lr 0.004); with no accumulation allowed a micro-batch of 48
    /// gives batch 48 and lr 0.002, the spec's fallback.</summary>
    public static AccumulationPlan Plan(int microBatch, int targetBatch = SpecBatch, int maxAccumulationSteps = int.MaxValue,
        double referenceLr = SpecLearningRate, int referenceBatch = SpecBatch)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(microBatch);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(targetBatch);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(maxAccumulationSteps);
        var steps = Math.Clamp(targetBatch / microBatch, 1, maxAccumulationSteps);
        var effective = microBatch * steps;
        return new AccumulationPlan(microBatch, steps, effective, LearningRate(effective, referenceLr, referenceBatch));
    }
}
