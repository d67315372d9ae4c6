using Concerto.Ingest.Core.Geometry;

namespace Concerto.Ingest.Core.Tests.Geometry;

public class Mat3Tests
{
    private static Mat3 Random3(Random rng) => new(
        rng.NextDouble() - 0.5, rng.NextDouble() - 0.5, rng.NextDouble() - 0.5,
        rng.NextDouble() - 0.5, rng.NextDouble() - 0.5, rng.NextDouble() - 0.5,
        rng.NextDouble() - 0.5, rng.NextDouble() - 0.5, rng.NextDouble() - 0.5);

    private static double MaxAbsDiff(Mat3 a, Mat3 b) => a.ToArray().Zip(b.ToArray()).Max(p => Math.Abs(p.First - p.Second));

    [Fact]
    public void SymmetricEigen_ReconstructsMatrix_WithAscendingValuesAndOrthonormalVectors()
    {
        var rng = new Random(3);
        for (var trial = 0; trial < 100; trial++)
        {
            var b = Random3(rng);
            var m = b.Transpose() * b;
            var (values, vectors) = m.SymmetricEigen();
            Assert.True(values.X <= values.Y && values.Y <= values.Z);
            Assert.True(MaxAbsDiff(vectors.Transpose() * vectors, Mat3.Identity) < 1e-12);
            var d = new Mat3(values.X, 0, 0, 0, values.Y, 0, 0, 0, values.Z);
            Assert.True(MaxAbsDiff(vectors * d * vectors.Transpose(), m) < 1e-12);
        }
    }

    [Fact]
    public void SymmetricEigen_FindsHandComputedValues()
    {
        // [[2,1,0],[1,2,0],[0,0,5]] has eigenvalues 1, 3, 5; the smallest's vector is (1,-1,0)/sqrt(2).
        var (values, vectors) = new Mat3(2, 1, 0, 1, 2, 0, 0, 0, 5).SymmetricEigen();
        Assert.Equal(1, values.X, 12);
        Assert.Equal(3, values.Y, 12);
        Assert.Equal(5, values.Z, 12);
        Assert.Equal(1 / Math.Sqrt(2), Math.Abs(vectors.Column(0).X), 12);
        Assert.Equal(0, vectors.Column(0).Z, 12);
    }

    [Fact]
    public void Svd_ReconstructsMatrix_IncludingRankDeficientOnes()
    {
        var rng = new Random(5);
        for (var trial = 0; trial < 100; trial++)
        {
            var m = Random3(rng);
            if (trial % 4 == 0) m = Mat3.Outer(new V3(1, 2, 3), new V3(-1, 0.5, 2)) + Mat3.Outer(new V3(0, 1, -1), new V3(2, 1, 0)); // rank 2
            var (u, s, v) = m.Svd();
            Assert.True(s.X >= s.Y && s.Y >= s.Z && s.Z >= 0);
            Assert.True(MaxAbsDiff(u.Transpose() * u, Mat3.Identity) < 1e-9);
            Assert.True(MaxAbsDiff(v.Transpose() * v, Mat3.Identity) < 1e-9);
            Assert.True(MaxAbsDiff(u * new Mat3(s.X, 0, 0, 0, s.Y, 0, 0, 0, s.Z) * v.Transpose(), m) < 1e-9, $"trial {trial}");
        }
    }
}
