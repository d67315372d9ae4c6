using Concerto.Ingest.Train.Views;

namespace Concerto.Ingest.Train.Tests.Views;

public sealed class GridSampleTests
{
    /// <summary>Grid 1.0, min corner (0, 0, 0): voxel A = (0,0,0) holds points 0, 2, 5; voxel B = (1,0,0) holds 1, 4;
    /// voxel C = (0,0,2) holds 3.</summary>
    private static readonly float[] ThreeVoxels =
    [
        0.0f, 0.0f, 0.0f,
        1.5f, 0.2f, 0.9f,
        0.9f, 0.9f, 0.1f,
        0.3f, 0.4f, 2.5f,
        1.1f, 0.8f, 0.0f,
        0.5f, 0.5f, 0.5f,
    ];

    private static int VoxelOf(int point) => point switch { 0 or 2 or 5 => 0, 1 or 4 => 1, _ => 2 };

    [Fact]
    public void GridCoords_FloorsOffsetsFromTheMinimumCorner()
    {
        float[] coord = [-1.0f, 2.0f, 0.5f, -0.5f, 2.3f, 1.49f];
        var grid = GridSample.GridCoords(coord, 0.5);
        Assert.Equal([0, 0, 0, 1, 0, 1], grid);
    }

    [Fact]
    public void RandomIndices_KeepsExactlyOnePointPerVoxel()
    {
        for (var seed = 0; seed < 20; seed++)
        {
            var chosen = GridSample.RandomIndices(ThreeVoxels, 1.0, new Random(seed));
            Assert.Equal(3, chosen.Length);
            Assert.Equal([0, 1, 2], chosen.Select(VoxelOf).Order().ToArray());
            Assert.Equal(chosen.Order().ToArray(), chosen); // ascending
        }
    }

    [Fact]
    public void RandomIndices_IsDeterministicPerSeed_AndReachesEveryPointOfAVoxel()
    {
        Assert.Equal(GridSample.RandomIndices(ThreeVoxels, 1.0, new Random(7)), GridSample.RandomIndices(ThreeVoxels, 1.0, new Random(7)));
        var picked = new HashSet<int>();
        for (var seed = 0; seed < 200; seed++) picked.UnionWith(GridSample.RandomIndices(ThreeVoxels, 1.0, new Random(seed)));
        Assert.Equal([0, 1, 2, 3, 4, 5], picked.Order().ToArray());
    }

    [Fact]
    public void FirstIndices_KeepsTheLowestIndexOfEachVoxel()
    {
        Assert.Equal([0, 1, 3], GridSample.FirstIndices(ThreeVoxels, 1.0));
    }

    [Fact]
    public void Random_KeepsLabelsColoursAndSourceIndicesAligned()
    {
        var sample = ViewTestData.FromCoords(ThreeVoxels, sourceOffset: 100);
        var sampled = GridSample.Random(sample, 1.0, new Random(3));
        Assert.Equal(3, sampled.Count);
        for (var j = 0; j < sampled.Count; j++)
        {
            var i = sampled.SourceIndex[j] - 100;
            Assert.Equal(sample.Segment![i], sampled.Segment![j]);
            Assert.Equal(sample.Color.AsSpan(3 * i, 3).ToArray(), sampled.Color.AsSpan(3 * j, 3).ToArray());
            Assert.Equal(sample.Coord.AsSpan(3 * i, 3).ToArray(), sampled.Coord.AsSpan(3 * j, 3).ToArray());
        }
    }

    [Fact]
    public void Random_OnALargeCloud_LeavesNoTwoPointsInOneVoxel()
    {
        var sample = ViewTestData.Random(20000, 1.0f, seed: 1);
        var sampled = GridSample.Random(sample, 0.05, new Random(1));
        var grid = GridSample.GridCoords(sampled.Coord, 0.05, GridSample.MinCorner(sample.Coord));
        var keys = new HashSet<(int, int, int)>();
        for (var i = 0; i < sampled.Count; i++) Assert.True(keys.Add((grid[3 * i], grid[3 * i + 1], grid[3 * i + 2])));
        Assert.Equal(GridSample.FirstIndices(sample.Coord, 0.05).Length, sampled.Count);
        Assert.True(sampled.Count > 7000); // 8000 voxels, 20000 points: nearly all occupied
    }
}
