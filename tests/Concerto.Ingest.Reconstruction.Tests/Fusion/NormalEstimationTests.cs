using Concerto.Ingest.Core.Geometry;
using Concerto.Ingest.Reconstruction.Fusion;
using static Concerto.Ingest.Reconstruction.Tests.Fusion.SyntheticScenes;

namespace Concerto.Ingest.Reconstruction.Tests.Fusion;

public class NormalEstimationTests
{
    [Fact]
    public void Estimate_NormalsPointOutward_WhenNoisySphereSeenFromOutside()
    {
        var centre = new V3(0.3, -0.2, 1);
        var sphere = Sphere(centre, 1);
        V3[] directions = [new(1, 0, 0), new(-1, 0, 0), new(0, 1, 0), new(0, -1, 0), new(0, 0, 1), new(0, 0, -1), new(1, 1, 1)];
        var fusion = new VoxelFusion(new VoxelFusionSettings(0.02));
        for (var i = 0; i < directions.Length; i++)
            fusion.Add(Render(sphere, LookAt(centre + directions[i].Normalized * 3, centre), 200, 150, 50, depthNoise: 0.001, seed: i));
        var cloud = fusion.ToCloud();

        var fallbacks = NormalEstimation.Estimate(cloud, new NormalEstimationSettings(0.06));

        var totalError = 0.0;
        for (var i = 0; i < cloud.Count; i++)
        {
            var outward = Point(cloud.Coord, i) - centre;
            var error = AngleDegrees(Point(cloud.Normal, i), outward);
            Assert.True(error < 90, $"normal {i} points inward ({error:F1} deg)");
            totalError += error;
        }

        Assert.True(cloud.Count > 5000);
        Assert.True(fallbacks < cloud.Count / 100, $"{fallbacks} fallbacks");
        Assert.True(totalError / cloud.Count < 5, $"mean angular error {totalError / cloud.Count:F2} deg");
    }

    [Theory]
    [InlineData(1)]
    [InlineData(-1)]
    public void Estimate_NormalsFaceCamera_WhenPlaneSeenFromOneSide(int side)
    {
        var normal = new V3(0.2, -0.1, 1).Normalized;
        var camera = LookAt(new V3(0.3, 0.4, 2 * side), V3.Zero);
        var fusion = new VoxelFusion(new VoxelFusionSettings(0.02));
        fusion.Add(Render(Rectangle(normal, 0.05, 0.8), camera, 160, 120));
        var cloud = fusion.ToCloud();

        NormalEstimation.Estimate(cloud, new NormalEstimationSettings(0.05));

        for (var i = 0; i < cloud.Count; i++)
        {
            var n = Point(cloud.Normal, i);
            Assert.True(n.Dot(camera.T - Point(cloud.Coord, i)) > 0, $"normal {i} faces away from the camera");
            // Interior points fit the plane; border ones may tilt a little (one-sided neighbourhoods).
            Assert.True(Math.Abs(n.Dot(normal)) > 0.99, $"normal {i} = {n}");
        }
    }

    [Fact]
    public void Estimate_FallsBackToViewDirection_WhenTooFewNeighbours()
    {
        // Two far-apart points: neither has 6 neighbours.
        var cloud = new FusedCloud([0, 0, 0, 5, 5, 5], new byte[6], new float[6], [0, 0, 1, 0.6f, 0.8f, 0]);

        var fallbacks = NormalEstimation.Estimate(cloud, new NormalEstimationSettings(0.1));

        Assert.Equal(2, fallbacks);
        Assert.Equal(cloud.ViewDirection, cloud.Normal);
    }
}
