namespace Concerto.Ingest.Reconstruction.Classic.Stereo;

/// <summary>Settings of PatchMatch multi-view stereo.</summary>
/// <param name="MaxSide">Longest side of the working resolution (area-downscaled, never upscaled).</param>
/// <param name="Radius">Half side of the matching window in working pixels...</param>
/// <param name="Step">...sampled every this many pixels (11 x 11 at step 2: 36 samples).</param>
/// <param name="Iterations">Sweeps of propagation and refinement over the whole image (each a red and a black half).</param>
/// <param name="BestK">Per pixel and hypothesis, the cost is the mean of the K lowest neighbour costs (occlusion-robust).</param>
/// <param name="SigmaColor">Bilateral weight of a window sample: grey-level difference to the centre (0-1 scale)...</param>
/// <param name="MaxMatchingCost">Pixels whose final cost (1 - NCC) exceeds this get no depth.</param>
/// <param name="MinTextureStd">Pixels whose reference window has a smaller weighted grey-level standard deviation get no depth.</param>
/// <param name="Seed">Seed of the random hypotheses (the result depends on it, not on the thread count).</param>
public sealed record PatchMatchSettings(
    int MaxSide = 320,
    int Radius = 5,
    int Step = 2,
    int Iterations = 6,
    int BestK = 2,
    double SigmaColor = 0.2,
    double MaxMatchingCost = 0.5,
    double MinTextureStd = 0.004,
    int Seed = 1)
{
    public static PatchMatchSettings Default { get; } = new();

    public void Validate()
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(MaxSide, 16, nameof(MaxSide));
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(Radius, nameof(Radius));
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(Step, nameof(Step));
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(Iterations, nameof(Iterations));
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(BestK, nameof(BestK));
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(SigmaColor, nameof(SigmaColor));
        ArgumentOutOfRangeException.ThrowIfNegative(MinTextureStd, nameof(MinTextureStd));
    }
}
