using Concerto.Ingest.Train.Profiles;

namespace Concerto.Ingest.Train.Pretraining;

/// <summary>Parameters and estimated training memory of a profile's model (`concerto train --print-params`).</summary>
/// <param name="Encoder">Encoder parameters.</param>
/// <param name="Heads">Sonata's mask and unmask heads of the student.</param>
/// <param name="Predictor">The cross-modal predictor (0 with the image branch off).</param>
/// <param name="StateBytes">fp32 weights, gradients and AdamW moments of everything trained (16 bytes per parameter) plus
/// the EMA teacher's weights (4 bytes per parameter).</param>
/// <param name="ActivationBytes">Activations kept for backward in one micro-batch (see <see cref="TrainingMemory.Estimate"/>).</param>
/// <param name="TargetBytes">Sinkhorn-Knopp targets kept through an optimizer step: matched head-level points of every
/// micro-batch of the effective batch (one micro-batch with sonata.sinkhornPerMicroBatch) x prototypes x 4 bytes.</param>
public sealed record TrainingMemoryEstimate(long Encoder, long Heads, long Predictor, long StateBytes, long ActivationBytes, long TargetBytes = 0)
{
    public long Trainable => Encoder + Heads + Predictor;
    public long TotalBytes => StateBytes + ActivationBytes + TargetBytes;
}

public static class TrainingMemory
{
    /// <summary>Bytes of activations per point, per block, per channel kept for backward: about 9 gathered neighbour
    /// rows in the sparse convolution, the Linear, LayerNorm and residual inputs, q, k, v and the attention output, and
    /// the MLP's 4C hidden pre- and post-GELU (~30 values of C each, 4 bytes).</summary>
    public const double BlockValuesPerChannel = 30;

    /// <summary>Stride-2 pooling of surface-like clouds keeps about a quarter of the points per stage.</summary>
    public const double PoolingKeep = 0.25;

    /// <summary>Estimates for <paramref name="profile"/> with teacher features of width <paramref name="teacherWidth"/>:
    /// the student encodes per sample 2 masked global views (mean 0.7 x maxPoints points each, U(0.4, 1)) and the local
    /// views (mean 0.25 x maxPoints each); the teacher runs without gradients and keeps nothing. Heads add hidden and
    /// prototype activations at their level.</summary>
    public static TrainingMemoryEstimate Estimate(TrainingProfile profile, int teacherWidth)
    {
        ArgumentNullException.ThrowIfNull(profile);
        var config = profile.Encoder;
        var sonata = profile.Sonata;
        var encoder = config.ParameterCount();
        var headLevel = SonataNetwork.HeadLevel(config, sonata);
        long headIn = config.Channels.Skip(headLevel).Sum();
        long head = headIn * sonata.Hidden + sonata.Hidden + (long)sonata.Hidden * sonata.Bottleneck + sonata.Bottleneck + (long)sonata.Bottleneck * sonata.Prototypes;
        long predictor = profile.Concerto.Enabled && teacherWidth > 0
            ? (config.Channels.Skip(1).Take(profile.Concerto.UpCastLevels + 1).Sum() + 1L) * teacherWidth
            : 0;
        var trainable = encoder + 2 * head + predictor;
        var state = 16 * trainable + 4 * (encoder + 2 * head);

        var points = profile.Data.BatchSize * profile.Data.MaxPoints * (2 * 0.7 + profile.Data.LocalViews * 0.25);
        double activations = 0;
        var share = 1.0;
        for (var s = 0; s < config.Stages; s++)
        {
            activations += points * share * config.Depths[s] * BlockValuesPerChannel * config.Channels[s] * 4;
            if (s == headLevel) activations += points * share * (2.0 * sonata.Hidden + sonata.Prototypes) * 4;
            share *= PoolingKeep;
        }

        // Matched student points at the head level: both global views twice (mask and roll), the local views once.
        var samplesHeld = sonata.SinkhornPerMicroBatch ? profile.Data.BatchSize : Math.Max(profile.Data.BatchSize, profile.Optimizer.EffectiveBatch ?? 0);
        var matched = samplesHeld * profile.Data.MaxPoints * (2 * 2 * 0.7 + profile.Data.LocalViews * 0.25) * Math.Pow(PoolingKeep, headLevel);
        var targets = matched * sonata.Prototypes * 4.0;
        return new TrainingMemoryEstimate(encoder, 2 * head, predictor, state, (long)activations, (long)targets);
    }
}
