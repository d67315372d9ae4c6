using Concerto.Ingest.Train.Views;

namespace Concerto.Ingest.Train.Tests.Views;

public sealed class AugmentationsTests
{
    // ---- geometry ----

    [Fact]
    public void Rotate_QuarterTurnAboutZ_MapsXToY_ForPointsAndNormals()
    {
        float[] coord = [1, 0, 0, 0, 2, 3];
        float[] normal = [1, 0, 0, 0, 0, 1];
        Augmentations.Rotate(coord, normal, RotationAxis.Z, Math.PI / 2, aboutBoxCentre: false);
        AssertClose([0, 1, 0, -2, 0, 3], coord);
        AssertClose([0, 1, 0, 0, 0, 1], normal);
    }

    [Fact]
    public void Rotate_QuarterTurnsAboutXAndY_AreRightHanded()
    {
        float[] a = [0, 1, 0];
        Augmentations.Rotate(a, [], RotationAxis.X, Math.PI / 2, aboutBoxCentre: false);
        AssertClose([0, 0, 1], a); // y -> z
        float[] b = [0, 0, 1];
        Augmentations.Rotate(b, [], RotationAxis.Y, Math.PI / 2, aboutBoxCentre: false);
        AssertClose([1, 0, 0], b); // z -> x
    }

    [Fact]
    public void Rotate_AboutTheBoxCentre_KeepsTheCentre()
    {
        float[] coord = [0, 0, 0, 2, 4, 6];
        Augmentations.Rotate(coord, [], RotationAxis.X, Math.PI, aboutBoxCentre: true);
        AssertClose([0, 4, 6, 2, 0, 0], coord);
    }

    [Fact]
    public void RandomRotate_PreservesDistancesAndNormalLengths_AndRotatesNormalsWithPoints()
    {
        var sample = ViewTestData.Random(200, 2f, seed: 3);
        var coord = (float[])sample.Coord.Clone();
        var normal = (float[])sample.Normal.Clone();
        var angle = Augmentations.RandomRotate(coord, normal, new Random(5), RotationAxis.Z, Math.PI, 1.0, aboutBoxCentre: false);
        Assert.NotEqual(0, angle);
        for (var i = 1; i < 200; i++)
        {
            Assert.Equal(ViewTestData.DistanceSquared(sample.Coord, 0, i), ViewTestData.DistanceSquared(coord, 0, i), 3);
            // A normal anchored at its point rotates with it: (point + normal) stays the same distance from point 0.
            float[] before = [sample.Coord[3 * i] + sample.Normal[3 * i], sample.Coord[3 * i + 1] + sample.Normal[3 * i + 1], sample.Coord[3 * i + 2] + sample.Normal[3 * i + 2], .. sample.Coord.AsSpan(0, 3)];
            float[] after = [coord[3 * i] + normal[3 * i], coord[3 * i + 1] + normal[3 * i + 1], coord[3 * i + 2] + normal[3 * i + 2], .. coord.AsSpan(0, 3)];
            Assert.Equal(ViewTestData.DistanceSquared(before, 0, 1), ViewTestData.DistanceSquared(after, 0, 1), 3);
            Assert.Equal(sample.Normal[3 * i + 2], normal[3 * i + 2], 5); // z untouched by a z-rotation
        }
    }

    [Fact]
    public void RandomRotate_AngleStaysWithinTheBound_AndSkipsWithProbabilityZero()
    {
        var r = new Random(1);
        for (var k = 0; k < 200; k++)
            Assert.InRange(Augmentations.RandomRotate(new float[3], new float[3], r, RotationAxis.X, Math.PI / 64, 1.0, true), -Math.PI / 64, Math.PI / 64);
        float[] coord = [1, 2, 3];
        Assert.Equal(0, Augmentations.RandomRotate(coord, [], r, RotationAxis.Z, Math.PI, 0.0, false));
        Assert.Equal([1f, 2f, 3f], coord);
    }

    [Fact]
    public void RandomScale_StaysWithinBounds_AndScalesAllAxesAlike()
    {
        var r = new Random(2);
        double lo = 2, hi = 0;
        for (var k = 0; k < 500; k++)
        {
            float[] coord = [1, -2, 4];
            var s = Augmentations.RandomScale(coord, r, 0.9, 1.1);
            Assert.InRange(s, 0.9, 1.1);
            AssertClose([(float)s, (float)(-2 * s), (float)(4 * s)], coord);
            (lo, hi) = (Math.Min(lo, s), Math.Max(hi, s));
        }

        Assert.True(lo < 0.91 && hi > 1.09, "draws should cover the range");
    }

    [Fact]
    public void CenterShift_PutsTheBoxXyCentreAndLowestZAtTheOrigin()
    {
        float[] coord = [1, 2, 3, 5, 10, 7];
        Augmentations.CenterShift(coord);
        AssertClose([-2, -4, 0, 2, 4, 4], coord);
    }

    [Fact]
    public void RandomFlip_WithProbabilityOne_NegatesXAndYOfPointsAndNormals()
    {
        float[] coord = [1, 2, 3];
        float[] normal = [0.6f, 0.8f, 0];
        Augmentations.RandomFlip(coord, normal, new Random(1), 1.0);
        Assert.Equal([-1f, -2f, 3f], coord);
        Assert.Equal([-0.6f, -0.8f, 0f], normal);
    }

    [Fact]
    public void Jitter_IsClippedAndHasTheRequestedSpread()
    {
        var coord = new float[30000];
        Augmentations.Jitter(coord, new Random(3), 0.005, 0.02);
        Assert.All(coord, v => Assert.InRange(v, -0.02f, 0.02f));
        var std = Math.Sqrt(coord.Average(v => (double)v * v));
        Assert.InRange(std, 0.0048, 0.0052);

        var wide = new float[30000];
        Augmentations.Jitter(wide, new Random(3), 0.05, 0.02);
        Assert.All(wide, v => Assert.InRange(v, -0.02f, 0.02f));
        Assert.True(wide.Count(v => Math.Abs(v) == 0.02f) > 10000, "most draws hit the clip at sigma 0.05");
    }

    [Fact]
    public void ElasticDistortion_IsBoundedAndNonTrivial()
    {
        var sample = ViewTestData.Random(5000, 3f, seed: 4);
        var coord = (float[])sample.Coord.Clone();
        Augmentations.ElasticDistortion(coord, new Random(6), 0.2, 0.4);
        var moves = Displacements(sample.Coord, coord);
        // Box-Muller draws stay below sqrt(-2 ln 2^-53) < 8.6 and blurring only averages them.
        Assert.All(moves, m => Assert.True(m < 8.6 * 0.4 * Math.Sqrt(3)));
        var rms = Math.Sqrt(moves.Average(m => m * m));
        // Two 3-tap passes per axis leave a standard deviation of (19/81)^(3/2) ~ 0.11 per channel: ~0.2 * 0.4 in 3D.
        Assert.InRange(rms, 0.01, 0.2);
    }

    [Fact]
    public void ElasticDistortion_IsSmooth_NearbyPointsMoveAlike()
    {
        var r = new Random(8);
        const int pairs = 2000;
        const float gap = 0.002f; // 1% of the granularity
        var coord = new float[6 * pairs];
        for (var p = 0; p < pairs; p++)
        {
            for (var a = 0; a < 3; a++) coord[6 * p + a] = coord[6 * p + 3 + a] = (float)(r.NextDouble() * 3);
            coord[6 * p + 3] += gap;
        }

        var before = (float[])coord.Clone();
        Augmentations.ElasticDistortion(coord, new Random(9), 0.2, 0.4);
        double pairDiff = 0, move = 0;
        for (var p = 0; p < pairs; p++)
        {
            for (var a = 0; a < 3; a++)
            {
                var d0 = coord[6 * p + a] - before[6 * p + a];
                var d1 = coord[6 * p + 3 + a] - before[6 * p + 3 + a];
                pairDiff += Math.Abs(d1 - d0);
                move += Math.Abs(d0);
            }
        }

        // Independent noise per point would give a ratio near 1.
        Assert.True(pairDiff / move < 0.05, $"nearby points moved apart by {pairDiff / move:P1} of their displacement");
    }

    [Fact]
    public void ElasticDistortion_SameSeed_SameResult()
    {
        var a = ViewTestData.Random(300, 2f, seed: 1).Coord;
        var b = (float[])a.Clone();
        Augmentations.ElasticDistortion(a, new Random(4), 0.8, 1.6);
        Augmentations.ElasticDistortion(b, new Random(4), 0.8, 1.6);
        Assert.Equal(a, b);
    }

    // ---- colour ----

    [Fact]
    public void AdjustBrightness_ScalesAndClips()
    {
        float[] color = [100, 200, 0];
        Augmentations.AdjustBrightness(color, 1.5f);
        Assert.Equal([150f, 255f, 0f], color);
    }

    [Fact]
    public void AdjustContrast_ZeroGivesTheMeanGrey_OneIsIdentity()
    {
        float[] color = [255, 0, 0, 0, 0, 255];
        var mean = (0.2989f * 255 + 0.114f * 255) / 2;
        var flat = (float[])color.Clone();
        Augmentations.AdjustContrast(flat, 0);
        Assert.All(flat, v => Assert.Equal(mean, v, 3));
        var same = (float[])color.Clone();
        Augmentations.AdjustContrast(same, 1);
        Assert.Equal(color, same);
    }

    [Fact]
    public void AdjustSaturation_ZeroGivesEachPointsGrey()
    {
        float[] color = [255, 0, 0, 10, 20, 30];
        Augmentations.AdjustSaturation(color, 0);
        AssertClose([76.2195f, 76.2195f, 76.2195f, 18.149f, 18.149f, 18.149f], color, 1e-3f);
    }

    [Fact]
    public void AdjustHue_AThirdTurnMapsRedToGreen_AndLeavesGreyAlone()
    {
        float[] color = [255, 0, 0, 128, 128, 128, 200, 100, 50];
        Augmentations.AdjustHue(color, 1f / 3);
        AssertClose([0, 255, 0, 128, 128, 128], color.AsSpan(0, 6).ToArray(), 1e-2f);
        // (200, 100, 50): h = 1/18, s = 0.75, v = 200/255; +1/3 turn -> h = 7/18: (50, 200, 100).
        AssertClose([50, 200, 100], color.AsSpan(6, 3).ToArray(), 1e-2f);
        float[] back = [200, 100, 50];
        Augmentations.AdjustHue(back, 0);
        AssertClose([200, 100, 50], back, 1e-2f);
    }

    [Fact]
    public void ColorJitter_WithProbabilityZero_ChangesNothing_AndAlwaysStaysInRange()
    {
        var sample = ViewTestData.Random(500, 1f, seed: 2);
        var color = (float[])sample.Color.Clone();
        Augmentations.ColorJitter(color, new Random(1), 0.4, 0.4, 0.2, 0.02, p: 0);
        Assert.Equal(sample.Color, color);
        for (var seed = 0; seed < 20; seed++)
        {
            Augmentations.ColorJitter(color, new Random(seed), 0.4, 0.4, 0.2, 0.02, p: 1);
            Assert.All(color, v => Assert.InRange(v, 0f, 255f));
        }
    }

    [Fact]
    public void ChromaticTranslation_ShiftsEveryPointByOneOffsetPerChannel_WithinTheRatio()
    {
        float[] color = [100, 100, 100, 120, 90, 80];
        Augmentations.ChromaticTranslation(color, new Random(3), 0.05, 1.0);
        for (var c = 0; c < 3; c++)
        {
            var shift = color[c] - 100;
            Assert.InRange(shift, -12.75f, 12.75f);
            Assert.Equal(shift, color[3 + c] - new float[] { 120, 90, 80 }[c], 3);
        }

        float[] edge = [0, 255, 0];
        for (var seed = 0; seed < 20; seed++) Augmentations.ChromaticTranslation(edge, new Random(seed), 0.05, 1.0);
        Assert.All(edge, v => Assert.InRange(v, 0f, 255f));
    }

    [Theory]
    [InlineData(0.2, 1.0, 200)]
    [InlineData(1.0, 1.0, 1000)]
    [InlineData(0.2, 0.0, 0)]
    [InlineData(0.25, 1.0, 250)]
    public void DropFeature_ZeroesTheRequestedFractionOfPoints(double ratio, double p, int dropped)
    {
        var values = Enumerable.Repeat(1f, 3000).ToArray();
        Augmentations.DropFeature(values, new Random(1), ratio, p);
        var zeroRows = Enumerable.Range(0, 1000).Count(i => values[3 * i] == 0 && values[3 * i + 1] == 0 && values[3 * i + 2] == 0);
        var partial = Enumerable.Range(0, 1000).Count(i => values.AsSpan(3 * i, 3).Count(0f) is 1 or 2);
        Assert.Equal(dropped, zeroRows);
        Assert.Equal(0, partial);
    }

    [Fact]
    public void DropFeature_AppliesWithTheGivenProbability()
    {
        var r = new Random(5);
        var applied = 0;
        for (var k = 0; k < 2000; k++)
        {
            float[] values = [1, 1, 1];
            Augmentations.DropFeature(values, r, 1.0, 0.2);
            if (values[0] == 0) applied++;
        }

        Assert.InRange(applied, 330, 470); // 400 expected
    }

    private static double[] Displacements(float[] before, float[] after)
    {
        var moves = new double[before.Length / 3];
        for (var i = 0; i < moves.Length; i++)
        {
            double dx = after[3 * i] - before[3 * i], dy = after[3 * i + 1] - before[3 * i + 1], dz = after[3 * i + 2] - before[3 * i + 2];
            moves[i] = Math.Sqrt(dx * dx + dy * dy + dz * dz);
        }

        return moves;
    }

    private static void AssertClose(float[] expected, float[] actual, float tolerance = 1e-5f)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (var i = 0; i < expected.Length; i++) Assert.True(Math.Abs(expected[i] - actual[i]) <= tolerance, $"value {i}: expected {expected[i]}, got {actual[i]}");
    }
}
