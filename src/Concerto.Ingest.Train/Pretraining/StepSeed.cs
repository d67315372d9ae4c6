namespace Concerto.Ingest.Train.Pretraining;

/// <summary>Seeds derived from (run seed, micro-step, purpose) by SplitMix64, so every random choice of a step is fixed
/// by the step alone: a resumed run draws exactly what an uninterrupted one would, with no generator state to save.</summary>
public static class StepSeed
{
    public const int Views = 1;
    public const int Model = 2;
    public const int Torch = 3;
    public const int Teacher = 4;

    public static long For(long seed, long microStep, int purpose)
    {
        unchecked
        {
            var z = (ulong)seed * 0x9E3779B97F4A7C15UL + (ulong)microStep * 0xBF58476D1CE4E5B9UL + (ulong)purpose * 0x94D049BB133111EBUL;
            z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
            z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
            return (long)((z ^ (z >> 31)) & long.MaxValue);
        }
    }

    public static Random Random(long seed, long microStep, int purpose) => new((int)(For(seed, microStep, purpose) & int.MaxValue));
}
