using Concerto.Ingest.Train.Views;

namespace Concerto.Ingest.Train.Tests.Views;

public sealed class NearestPointsTests
{
    [Fact]
    public void Select_OnALine_ReturnsTheClosestPoints()
    {
        float[] coord = [5, 0, 0, 1, 0, 0, 3, 0, 0, -2, 0, 0, 0.5f, 0, 0];
        Assert.Equal([1, 4], NearestPoints.Select(coord, 0.9f, 0, 0, 2).Order().ToArray());
        Assert.Equal([1, 2, 4], NearestPoints.Select(coord, 1.9f, 0, 0, 3).Order().ToArray());
    }

    [Theory]
    [InlineData(1, 1000, 1)]
    [InlineData(2, 1000, 400)]
    [InlineData(3, 1000, 999)]
    [InlineData(4, 5000, 2500)]
    public void Select_AgreesWithAFullSort(int seed, int n, int k)
    {
        var sample = ViewTestData.Random(n, 1.0f, seed);
        var c = sample.Coord;
        var chosen = NearestPoints.Select(c, 0.3f, 0.6f, 0.5f, k);
        Assert.Equal(k, chosen.Length);
        Assert.Equal(k, chosen.Distinct().Count());
        var d = Enumerable.Range(0, n).Select(i => Dist(c, i)).ToArray();
        var cut = d.Order().ElementAt(k - 1);
        var inside = chosen.ToHashSet();
        Assert.All(chosen, i => Assert.True(d[i] <= cut));
        Assert.All(Enumerable.Range(0, n).Where(i => !inside.Contains(i)), i => Assert.True(d[i] >= cut));
    }

    [Fact]
    public void Select_WithManyTies_ReturnsTheRequestedCount()
    {
        var coord = new float[3 * 100];
        for (var i = 50; i < 100; i++) coord[3 * i] = 1; // 50 points at distance 0, 50 at distance 1
        var chosen = NearestPoints.Select(coord, 0, 0, 0, 60);
        Assert.Equal(60, chosen.Distinct().Count());
        Assert.Equal(50, chosen.Count(i => i < 50));
    }

    [Fact]
    public void Select_CountAboveN_ReturnsAll() => Assert.Equal([0, 1], NearestPoints.Select([0, 0, 0, 1, 1, 1], 0, 0, 0, 5));

    private static float Dist(float[] c, int i)
    {
        float dx = c[3 * i] - 0.3f, dy = c[3 * i + 1] - 0.6f, dz = c[3 * i + 2] - 0.5f;
        return dx * dx + dy * dy + dz * dz;
    }
}
