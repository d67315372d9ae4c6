using Concerto.Ingest.Train.Sonata;

namespace Concerto.Ingest.Train.Tests.Sonata;

public sealed class CubeMaskingTests
{
    /// <summary>Sample 0: 10 cubes of side 1 along x from its minimum 0, 3 points each. Sample 1: 5 cubes along y from its
    /// minimum (100.37, -7.2, 3.1), 4 points each. The cube of each point is known by construction.</summary>
    private static (float[] Coord, long[] Offsets, int[] Cube) TwoSamples(Random random)
    {
        var coord = new List<float>();
        var cube = new List<int>();
        for (var c = 0; c < 10; c++)
        for (var p = 0; p < 3; p++)
        {
            var inside = p == 0 && c == 0 ? 0 : 0.05 + 0.9 * random.NextDouble();
            coord.AddRange([(float)(c + inside), p == 0 ? 0f : (float)(0.9 * random.NextDouble()), p == 0 ? 0f : (float)(0.9 * random.NextDouble())]);
            cube.Add(c);
        }

        for (var c = 0; c < 5; c++)
        for (var p = 0; p < 4; p++)
        {
            var inside = p == 0 && c == 0 ? 0 : 0.05 + 0.9 * random.NextDouble();
            var corner = p == 0;   // each cube's first point sits at its x/z minimum, so the sample minimum is exact
            coord.AddRange([100.37f + (corner ? 0f : (float)(0.9 * random.NextDouble())), -7.2f + (float)(c + inside), 3.1f + (corner ? 0f : (float)(0.9 * random.NextDouble()))]);
            cube.Add(10 + c);
        }

        return (coord.ToArray(), [30, 50], cube.ToArray());
    }

    [Fact]
    public void Mask_MasksTheRoundedFractionOfCubesPerSample_WholeCubesOnly()
    {
        var (coord, offsets, cube) = TwoSamples(new Random(1));
        var mask = CubeMasking.Mask(coord, offsets, maskSize: 1.0, maskRatio: 0.3, new Random(2));

        var maskedCubes = cube.Zip(mask).GroupBy(x => x.First).ToDictionary(g => g.Key, g => g.Select(x => x.Second).Distinct().ToArray());
        Assert.All(maskedCubes.Values, states => Assert.Single(states));      // a cube is masked whole or not at all
        Assert.Equal(3, maskedCubes.Count(kv => kv.Key < 10 && kv.Value[0]));  // round(0.3 * 10)
        Assert.Equal(2, maskedCubes.Count(kv => kv.Key >= 10 && kv.Value[0])); // round(0.3 * 5 = 1.5) = 2, half to even
        Assert.Equal(3 * 3 + 2 * 4, mask.Count(m => m));

        Assert.Equal(mask, CubeMasking.Mask(coord, offsets, 1.0, 0.3, new Random(2)));
        Assert.DoesNotContain(true, CubeMasking.Mask(coord, offsets, 1.0, 0.0, new Random(2)));
        Assert.DoesNotContain(false, CubeMasking.Mask(coord, offsets, 1.0, 1.0, new Random(2)));
        // Cubes of side 20 hold each whole sample: one cube per sample, round(0.3) = 0 masked, round(0.7) = 1.
        Assert.DoesNotContain(true, CubeMasking.Mask(coord, offsets, 20.0, 0.3, new Random(2)));
        Assert.DoesNotContain(false, CubeMasking.Mask(coord, offsets, 20.0, 0.7, new Random(2)));
    }

    /// <summary>Over many draws each cube of sample 0 is masked about 30% of the time: the draw is uniform.</summary>
    [Fact]
    public void Mask_DrawsCubesUniformly()
    {
        var (coord, offsets, cube) = TwoSamples(new Random(3));
        var random = new Random(4);
        var hits = new int[15];
        const int draws = 2000;
        for (var d = 0; d < draws; d++)
        {
            var mask = CubeMasking.Mask(coord, offsets, 1.0, 0.3, random);
            foreach (var c in cube.Where((_, i) => mask[i]).Distinct()) hits[c]++;
        }

        for (var c = 0; c < 10; c++) Assert.InRange(hits[c] / (double)draws, 0.26, 0.34);
        for (var c = 10; c < 15; c++) Assert.InRange(hits[c] / (double)draws, 0.36, 0.44);
    }

    [Fact]
    public void ApplyCoordinateNoise_AddsClippedGaussianNoise_ToMaskedPointsOnly()
    {
        var random = new Random(5);
        const int n = 4000;
        var coord = Enumerable.Range(0, 3 * n).Select(_ => (float)(random.NextDouble() * 4)).ToArray();
        var mask = Enumerable.Range(0, n).Select(i => i % 2 == 0).ToArray();

        var noisy = CubeMasking.ApplyCoordinateNoise(coord, mask, new Random(6));

        Assert.NotSame(coord, noisy);
        var deltas = new List<double>();
        for (var i = 0; i < n; i++)
        for (var axis = 0; axis < 3; axis++)
        {
            var delta = (double)noisy[3 * i + axis] - coord[3 * i + axis];
            if (!mask[i]) Assert.Equal(0, delta);
            else deltas.Add(delta);
        }

        Assert.True(deltas.Max(Math.Abs) <= 0.02 + 1e-6);
        Assert.True(deltas.Max(Math.Abs) > 0.0199);                          // the clip is reached
        Assert.True(deltas.Count(d => Math.Abs(d) > 0.0199) is > 120 and < 420); // about 4.6% of 6000 beyond 2 sigma
        var mean = deltas.Average();
        var std = Math.Sqrt(deltas.Average(d => (d - mean) * (d - mean)));
        Assert.InRange(mean, -0.0005, 0.0005);
        Assert.InRange(std, 0.0092, 0.0100);                                 // sigma 0.01 clipped at 2 sigma: 0.0096
        Assert.Equal(noisy, CubeMasking.ApplyCoordinateNoise(coord, mask, new Random(6)));
    }
}
