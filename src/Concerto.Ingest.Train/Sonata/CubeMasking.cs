namespace Concerto.Ingest.Train.Sonata;

/// <summary>Sonata's masking of the student's global views (shared/spec/concerto.md section 2): space is cut into cubes
/// of side mask_size and a fraction mask_ratio of the occupied cubes is masked, so whole regions disappear rather than
/// scattered points that neighbours would give away. Masked points get the mask token and coordinate noise.</summary>
public static class CubeMasking
{
    /// <summary>Per point, whether it is masked.</summary>
    /// <remarks>Per sample: cube = floor((coord - sample minimum) / maskSize) per axis; of the C occupied cubes,
    /// round(maskRatio * C) (half to even) are drawn without replacement and all their points masked. Cubes are drawn
    /// from their sorted list, so the result depends only on the points and the state of
    /// <paramref name="random"/>.</remarks>
    /// <param name="coord">Original coordinates, 3 per point (N x 3).</param>
    /// <param name="offsets">Cumulative ends of the samples: sample b is [offsets[b-1], offsets[b]).</param>
    /// <param name="maskSize">Cube side, in scene units (0.1 -> 0.4 over the warm-up).</param>
    /// <param name="maskRatio">Fraction of occupied cubes masked (0.3 -> 0.7 over the warm-up).</param>
    /// <param name="random">The source of the draw.</param>
    public static bool[] Mask(float[] coord, long[] offsets, double maskSize, double maskRatio, Random random)
    {
        ArgumentNullException.ThrowIfNull(coord);
        ArgumentNullException.ThrowIfNull(offsets);
        ArgumentNullException.ThrowIfNull(random);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(maskSize);
        if (maskRatio is < 0 or > 1) throw new ArgumentOutOfRangeException(nameof(maskRatio), maskRatio, "the mask ratio must lie in [0, 1]");
        var count = CheckShape(coord, offsets);

        var mask = new bool[count];
        var start = 0;
        foreach (var offset in offsets)
        {
            var end = (int)offset;
            if (end > start) MaskSample(coord, start, end, maskSize, maskRatio, random, mask);
            start = end;
        }

        return mask;
    }

    /// <summary>A copy of <paramref name="coord"/> with Gaussian noise (std <paramref name="sigma"/>, clipped to
    /// +-<paramref name="clip"/>) added to each coordinate of the masked points only; Sonata uses sigma 0.01, clip
    /// 0.02.</summary>
    public static float[] ApplyCoordinateNoise(float[] coord, bool[] mask, Random random, double sigma = 0.01, double clip = 0.02)
    {
        ArgumentNullException.ThrowIfNull(coord);
        ArgumentNullException.ThrowIfNull(mask);
        ArgumentNullException.ThrowIfNull(random);
        ArgumentOutOfRangeException.ThrowIfNegative(sigma);
        ArgumentOutOfRangeException.ThrowIfNegative(clip);
        if (coord.Length != 3 * mask.Length)
            throw new ArgumentException($"{coord.Length} coordinates for {mask.Length} mask entries: expected 3 per point", nameof(mask));

        var noisy = (float[])coord.Clone();
        for (var i = 0; i < mask.Length; i++)
        {
            if (!mask[i]) continue;
            for (var axis = 0; axis < 3; axis++)
                noisy[3 * i + axis] += (float)Math.Clamp(sigma * Gaussian(random), -clip, clip);
        }

        return noisy;
    }

    private static void MaskSample(float[] coord, int start, int end, double maskSize, double maskRatio, Random random, bool[] mask)
    {
        Span<float> minimum = [float.PositiveInfinity, float.PositiveInfinity, float.PositiveInfinity];
        for (var i = start; i < end; i++)
        for (var axis = 0; axis < 3; axis++)
            minimum[axis] = Math.Min(minimum[axis], coord[3 * i + axis]);

        var cubeOfPoint = new (long X, long Y, long Z)[end - start];
        var occupied = new HashSet<(long X, long Y, long Z)>();
        for (var i = start; i < end; i++)
        {
            var cube = (Cell(coord[3 * i], minimum[0], maskSize), Cell(coord[3 * i + 1], minimum[1], maskSize), Cell(coord[3 * i + 2], minimum[2], maskSize));
            cubeOfPoint[i - start] = cube;
            occupied.Add(cube);
        }

        var cubes = occupied.Order().ToArray();
        var chosen = (int)Math.Round(maskRatio * cubes.Length, MidpointRounding.ToEven);
        // Partial Fisher-Yates: the first `chosen` entries become a uniform draw without replacement.
        for (var k = 0; k < chosen; k++)
        {
            var j = random.Next(k, cubes.Length);
            (cubes[k], cubes[j]) = (cubes[j], cubes[k]);
        }

        var masked = cubes.Take(chosen).ToHashSet();
        for (var i = start; i < end; i++)
            mask[i] = masked.Contains(cubeOfPoint[i - start]);
    }

    private static long Cell(float value, float minimum, double size) => (long)Math.Floor((value - (double)minimum) / size);

    /// <summary>A standard normal draw (Box-Muller).</summary>
    private static double Gaussian(Random random)
    {
        var u = 1.0 - random.NextDouble();   // (0, 1]: the logarithm stays finite
        return Math.Sqrt(-2.0 * Math.Log(u)) * Math.Cos(2.0 * Math.PI * random.NextDouble());
    }

    private static int CheckShape(float[] coord, long[] offsets)
    {
        if (coord.Length % 3 != 0) throw new ArgumentException($"{coord.Length} coordinates: expected 3 per point", nameof(coord));
        var count = coord.Length / 3;
        long previous = 0;
        foreach (var end in offsets)
        {
            if (end < previous) throw new ArgumentException($"offsets must be non-decreasing cumulative ends, got [{string.Join(", ", offsets)}]", nameof(offsets));
            previous = end;
        }

        if (previous != count) throw new ArgumentException($"the last offset ({previous}) must equal the point count ({count})", nameof(offsets));
        return count;
    }
}
