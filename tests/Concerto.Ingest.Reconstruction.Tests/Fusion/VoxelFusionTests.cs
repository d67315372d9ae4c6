using Concerto.Ingest.Core.Geometry;
using Concerto.Ingest.Reconstruction.Fusion;
using static Concerto.Ingest.Reconstruction.Tests.Fusion.SyntheticScenes;

namespace Concerto.Ingest.Reconstruction.Tests.Fusion;

public class VoxelFusionTests
{
    private const double Voxel = 0.02;
    private const double Half = 0.6;

    // Plane z = 0.01 (mid-voxel, so rounding cannot split a voxel layer), square of side 1.2: 3600 voxels of 0.02.
    private static readonly Surface Floor = Rectangle(V3.UnitZ, 0.01, Half);

    private static DepthFrame[] TwoPoses() =>
    [
        Render(Floor, LookAt(new V3(0.1, -0.2, 2), new V3(0, 0, 0)), 320, 240),
        Render(Floor, LookAt(new V3(1.4, 0.9, 1.2), new V3(0, 0, 0)), 320, 240),
    ];

    [Fact]
    public void ToCloud_PointsLieOnPlaneAndCountMatchesArea_WhenTwoPosesSeeOnePlane()
    {
        var fusion = new VoxelFusion(new VoxelFusionSettings(Voxel));
        foreach (var frame in TwoPoses()) Assert.True(fusion.Add(frame) > 10_000);
        var cloud = fusion.ToCloud();

        var expected = 2 * Half * (2 * Half) / (Voxel * Voxel);
        Assert.InRange(cloud.Count, 0.9 * expected, 1.1 * expected);
        for (var i = 0; i < cloud.Count; i++)
        {
            var p = Point(cloud.Coord, i);
            // Means of points on a plane stay on it; an off-by-half-pixel ray would move the oblique view's points off it.
            Assert.True(Math.Abs(p.Z - 0.01) < 1e-4, $"point {i} at z = {p.Z}");
            Assert.True(Math.Abs(p.X) <= Half + Voxel / 2 && Math.Abs(p.Y) <= Half + Voxel / 2, $"point {i} outside the square: {p}");
        }

        Assert.Equal(0, fusion.PointsOutOfRange);
    }

    [Fact]
    public void Add_UnprojectsWithPixelCentreConvention_WhenOneObliqueFrame()
    {
        // Tiny voxels: each voxel holds one pixel's point, which must be the exact ray-plane hit.
        var camera = LookAt(new V3(1.5, -1, 1.5), new V3(0.1, 0.1, 0));
        var frame = Render(Floor, camera, 64, 48);
        var fusion = new VoxelFusion(new VoxelFusionSettings(1e-4));
        var added = fusion.Add(frame);
        var cloud = fusion.ToCloud();

        Assert.Equal(added, cloud.Count);
        Assert.Equal(frame.Depth.Count(d => d > 0), added);
        var worldToCamera = camera.Inverse();
        var j = 0;
        for (var i = 0; i < frame.Depth.Length; i++)
        {
            if (frame.Depth[i] == 0) continue;
            // Voxels come out in first-touch order, i.e. pixel order: point j must project back onto its integer pixel.
            var p = Point(cloud.Coord, j++);
            var (u, v) = frame.Intrinsics.Project(worldToCamera.Apply(p));
            Assert.True(Math.Abs(u - i % frame.Width) < 1e-3 && Math.Abs(v - i / frame.Width) < 1e-3, $"pixel {i} came back at ({u}, {v})");
            Assert.True(Math.Abs(p.Z - 0.01) < 1e-5, $"pixel {i} off the plane: {p}");
        }
    }

    [Fact]
    public void ToCloud_AveragesColourAndPointsViewToCamera_WhenFrameIsFused()
    {
        var camera = LookAt(new V3(0, 0, 2), new V3(0, 0, 0));
        var frame = Render(Floor, camera, 64, 48);
        Array.Fill(frame.Rgb, (byte)200);
        var fusion = new VoxelFusion(new VoxelFusionSettings(0.05));
        fusion.Add(frame);
        var cloud = fusion.ToCloud();

        Assert.All(cloud.Color, c => Assert.Equal(200, c));
        for (var i = 0; i < cloud.Count; i++)
        {
            var toCamera = camera.T - Point(cloud.Coord, i);
            Assert.True(AngleDegrees(Point(cloud.ViewDirection, i), toCamera) < 2, $"view direction of point {i}");
            Assert.Equal(1, Point(cloud.ViewDirection, i).Length, 5);
        }
    }

    [Fact]
    public void Add_FusesOnlyKeptPixels_WhenMaskGiven()
    {
        var frame = Render(Floor, LookAt(new V3(0, 0, 2), new V3(0, 0, 0)), 64, 48);
        var keep = new bool[frame.Depth.Length];
        for (var i = 0; i < keep.Length; i += 3) keep[i] = true;
        var fusion = new VoxelFusion(new VoxelFusionSettings(1e-4));

        var added = fusion.Add(frame, keep);

        Assert.Equal(Enumerable.Range(0, keep.Length).Count(i => keep[i] && frame.Depth[i] > 0), added);
        Assert.Equal(added, fusion.ToCloud().Count);
    }

    [Fact]
    public void ToCloud_IsIdentical_WhenRunTwice()
    {
        FusedCloud Run()
        {
            var fusion = new VoxelFusion(new VoxelFusionSettings(Voxel), expectedVoxels: 16);
            foreach (var frame in TwoPoses()) fusion.Add(frame);
            var cloud = fusion.ToCloud();
            NormalEstimation.Estimate(cloud, new NormalEstimationSettings(2.5 * Voxel));
            return cloud;
        }

        var (a, b) = (Run(), Run());
        Assert.Equal(a.Coord, b.Coord);
        Assert.Equal(a.Color, b.Color);
        Assert.Equal(a.Normal, b.Normal);
        Assert.Equal(a.ViewDirection, b.ViewDirection);
    }
}
