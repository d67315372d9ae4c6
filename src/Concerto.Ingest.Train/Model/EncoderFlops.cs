using Concerto.Ingest.Train.Sparse;

namespace Concerto.Ingest.Train.Model;

/// <summary>Floating-point operations of one encoder forward pass, counted from the levels it built (points per stage,
/// kernel-map pairs, padded attention windows), 2 per multiply-add. Backward costs about twice the forward.</summary>
public static class EncoderFlops
{
    public static double Forward(PtV3Config config, IReadOnlyList<PointLevel> levels)
    {
        ArgumentNullException.ThrowIfNull(config);
        ArgumentNullException.ThrowIfNull(levels);
        double flops = 2.0 * levels[0].Count * config.InChannels * config.Channels[0];
        for (var s = 0; s < levels.Count; s++)
        {
            var level = levels[s];
            double n = level.Count, c = config.Channels[s];
            if (s > 0) flops += 2.0 * levels[s - 1].Count * config.Channels[s - 1] * c;
            double pairs = 0;
            for (var k = 0; k < KernelMap.Offsets; k++) pairs += level.Map.Inputs(k).shape[0];
            for (var b = 0; b < config.Depths[s]; b++)
            {
                double windowSlots = level.PatchGather(b).shape[0], windowPairs = level.Windows.Sum(g => (double)g.Slots * g.Length);
                flops += 2 * pairs * c * c          // sparse conv
                         + 2 * n * c * c            // xCPE Linear
                         + 2 * windowSlots * 3 * c * c  // qkv over the padded sequence
                         + 4 * windowPairs * c           // QK^T and AV within windows
                         + 2 * n * c * c            // projection
                         + 2 * n * 8 * c * c;       // MLP C -> 4C -> C
            }
        }

        return flops;
    }
}
