using Concerto.Ingest.Core.Geometry;
using Concerto.Ingest.Reconstruction.Fusion;
using static Concerto.Ingest.Reconstruction.Tests.Fusion.SyntheticScenes;

namespace Concerto.Ingest.Reconstruction.Tests.Fusion;

public class GravityAlignmentTests
{
    /// <summary>The room tilted by <paramref name="tiltDegrees"/> about a random horizontal axis, yawed and offset.</summary>
    private static (float[] Coord, int FloorCount, RigidTransform Pose) TiltedRoom(int seed, double tiltDegrees)
    {
        var rng = new Random(seed);
        var room = Room(0.03, 0.002, seed, out var floorCount);
        var azimuth = rng.NextDouble() * 2 * Math.PI;
        var tilt = Mat3.FromArray(AxisAngle(new V3(Math.Cos(azimuth), Math.Sin(azimuth), 0), tiltDegrees));
        var yaw = Mat3.FromArray(AxisAngle(V3.UnitZ, rng.NextDouble() * 360));
        var offset = new V3(rng.NextDouble() * 10 - 5, rng.NextDouble() * 10 - 5, rng.NextDouble() * 10 - 5);
        var pose = new RigidTransform((tilt * yaw).ToArray(), offset);
        return (Transform(room, pose), floorCount, pose);
    }

    [Theory]
    [InlineData(1, 30)]
    [InlineData(2, 25)]
    [InlineData(3, 12)]
    [InlineData(4, 0)]
    public void FindFloor_LevelsFloorToZeroWithUpNormal_WhenRoomIsTiltedUpTo30Degrees(int seed, double tilt)
    {
        var (coord, floorCount, pose) = TiltedRoom(seed, tilt);

        // The up guess is the untilted +z: the floor is tilt degrees away from it.
        var result = GravityAlignment.FindFloor(coord, V3.UnitZ, new GravityAlignmentSettings());

        Assert.True(result.Found, result.Failure);
        var levelled = Transform(coord, result.Transform);
        for (var i = 0; i < floorCount; i++)
            Assert.True(Math.Abs(levelled[3 * i + 2]) < 0.01 * result.Extent, $"floor point {i} at z = {levelled[3 * i + 2]}");
        var floorNormal = result.Transform.Rotate(pose.Rotate(V3.UnitZ));
        Assert.True(AngleDegrees(floorNormal, V3.UnitZ) < 0.5, $"floor normal {AngleDegrees(floorNormal, V3.UnitZ):F3} deg off +z");
        Assert.Equal(tilt, result.Floor.TiltDegrees, 0.5);
    }

    [Fact]
    public void FindFloor_ReturnsNoFloor_WhenOnlyPlaneIsTilted60Degrees()
    {
        var rng = new Random(5);
        var points = new List<V3>();
        for (var a = 0.0; a <= 3; a += 0.02)
        for (var b = 0.0; b <= 3; b += 0.02)
            points.Add(new V3(a, b, 0.001 * Gaussian(rng)));
        var steep = new RigidTransform(AxisAngle(new V3(1, 0, 0), 60), new V3(1, 2, 3));

        var result = GravityAlignment.FindFloor(Transform(Flatten(points), steep), V3.UnitZ, new GravityAlignmentSettings());

        Assert.False(result.Found);
        Assert.Contains("no floor", result.Failure, StringComparison.Ordinal);
        Assert.Null(result.Transform);
    }

    [Fact]
    public void FindFloor_ReturnsNoFloor_WhenCloudIsASphere()
    {
        var rng = new Random(6);
        var points = new List<V3>();
        for (var i = 0; i < 40_000; i++) points.Add(new V3(Gaussian(rng), Gaussian(rng), Gaussian(rng)).Normalized);

        var result = GravityAlignment.FindFloor(Flatten(points), V3.UnitZ, new GravityAlignmentSettings());

        Assert.False(result.Found);
    }

    [Fact]
    public void FindFloor_IsIdentical_WhenRunTwice()
    {
        var (coord, _, _) = TiltedRoom(7, 20);
        var a = GravityAlignment.FindFloor(coord, V3.UnitZ, new GravityAlignmentSettings());
        var b = GravityAlignment.FindFloor(coord, V3.UnitZ, new GravityAlignmentSettings());

        Assert.True(a.Found && b.Found);
        Assert.Equal(a.Transform.R, b.Transform.R);
        Assert.Equal(a.Transform.T, b.Transform.T);
        Assert.Equal(a.Floor, b.Floor);
    }

    [Fact]
    public void UpFromOpenCvCamera_IsMinusCameraY_WhenCameraLooksAlongX()
    {
        var camera = LookAt(new V3(0, 0, 1), new V3(5, 0, 1));

        var up = GravityAlignment.UpFromOpenCvCamera(camera);

        Assert.True(AngleDegrees(up, V3.UnitZ) < 1e-9);
    }
}
