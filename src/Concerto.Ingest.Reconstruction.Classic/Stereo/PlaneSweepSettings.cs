namespace Concerto.Ingest.Reconstruction.Classic.Stereo;

/// <summary>Settings of the fronto-parallel plane sweep.</summary>
/// <param name="MaxSide">Longest side of the working resolution (images are area-downscaled to it, never upscaled).</param>
/// <param name="Depths">Depth hypotheses, uniform in inverse depth between near and far.</param>
/// <param name="Window">Side of the square ZNCC window in working pixels (odd).</param>
/// <param name="BestK">Per pixel and depth, the matching cost is the mean of the K lowest neighbour costs (occlusion-robust).</param>
/// <param name="DepthChunk">Hypotheses one thread sweeps as a unit of work (the threads share the hypotheses chunk by chunk); each
/// thread holds about (8 + neighbours) x pixels floats of scratch whatever the chunk.</param>
/// <param name="Temperature">Softmax temperature on the cost curve for the confidence (peakiness around the winner).</param>
/// <param name="MaxMatchingCost">Pixels whose best cost (1 - ZNCC) exceeds this get no depth.</param>
/// <param name="MinTextureStd">Pixels whose reference window has a smaller grey-level standard deviation (0-1 scale) get no depth.</param>
public sealed record PlaneSweepSettings(
    int MaxSide = 320,
    int Depths = 64,
    int Window = 7,
    int BestK = 2,
    int DepthChunk = 4,
    double Temperature = 0.05,
    double MaxMatchingCost = 0.5,
    double MinTextureStd = 0.004)
{
    public static PlaneSweepSettings Default { get; } = new();

    public void Validate()
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(MaxSide, 16, nameof(MaxSide));
        ArgumentOutOfRangeException.ThrowIfLessThan(Depths, 3, nameof(Depths));
        if (Window < 1 || Window % 2 == 0) throw new ArgumentOutOfRangeException(nameof(Window), Window, "the window side must be odd and positive");
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(BestK, nameof(BestK));
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(DepthChunk, nameof(DepthChunk));
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(Temperature, nameof(Temperature));
        ArgumentOutOfRangeException.ThrowIfNegative(MinTextureStd, nameof(MinTextureStd));
    }
}
