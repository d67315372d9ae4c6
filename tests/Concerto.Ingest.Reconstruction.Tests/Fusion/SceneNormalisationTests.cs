using Concerto.Ingest.Core.Geometry;
using Concerto.Ingest.Reconstruction.Fusion;
using static Concerto.Ingest.Reconstruction.Tests.Fusion.SyntheticScenes;

namespace Concerto.Ingest.Reconstruction.Tests.Fusion;

public class SceneNormalisationTests
{
    private static FusedCloud Cloud(int seed)
    {
        var rng = new Random(seed);
        var coord = new float[3 * 2000];
        for (var i = 0; i < coord.Length; i++) coord[i] = (float)(rng.NextDouble() * 4 - 1);
        var normal = new float[coord.Length];
        for (var i = 0; i < coord.Length; i += 3) normal[i + 2] = 1;
        return new FusedCloud(coord, new byte[coord.Length], normal, (float[])normal.Clone());
    }

    private static readonly RigidTransform Levelling = new(AxisAngle(new V3(1, 2, 0.5), 20), new V3(0.5, -2, 0.7));

    [Fact]
    public void Apply_MakesZRange3AndMinXYZero_WhenDefaultSettings()
    {
        var cloud = Cloud(1);

        SceneNormalisation.Apply(cloud, Levelling, new SceneNormalisationSettings());

        var (minX, minY, minZ, maxZ) = (float.MaxValue, float.MaxValue, float.MaxValue, float.MinValue);
        for (var i = 0; i < cloud.Count; i++)
        {
            minX = Math.Min(minX, cloud.Coord[3 * i]);
            minY = Math.Min(minY, cloud.Coord[3 * i + 1]);
            minZ = Math.Min(minZ, cloud.Coord[3 * i + 2]);
            maxZ = Math.Max(maxZ, cloud.Coord[3 * i + 2]);
        }

        Assert.Equal(0f, minX);
        Assert.Equal(0f, minY);
        // float32 storage: exact up to one ulp of 3.
        Assert.Equal(3.0, maxZ - minZ, 6);
    }

    [Fact]
    public void Apply_ReturnsSimilarityMappingInputToOutput_WhenScaling()
    {
        var cloud = Cloud(2);
        var before = (float[])cloud.Coord.Clone();

        var similarity = SceneNormalisation.Apply(cloud, Levelling, new SceneNormalisationSettings());

        Assert.NotEqual(1, similarity.Scale, 3);
        for (var i = 0; i < cloud.Count; i++)
        {
            var mapped = similarity.Apply(Point(before, i));
            // Bounded by float32 rounding of the stored output (coordinates up to ~5): double math agrees to 1e-9.
            Assert.True((mapped - Point(cloud.Coord, i)).Abs.MaxComponent < 1e-6, $"point {i}: {mapped} vs {Point(cloud.Coord, i)}");
            Assert.True(AngleDegrees(Point(cloud.Normal, i), Levelling.Rotate(V3.UnitZ)) < 1e-4);
        }
    }

    [Fact]
    public void Apply_KeepsScaleAndFloor_WhenTargetIsNone()
    {
        var cloud = Cloud(3);
        var before = (float[])cloud.Coord.Clone();

        var similarity = SceneNormalisation.Apply(cloud, Levelling, new SceneNormalisationSettings(TargetZRange: null));

        Assert.Equal(1, similarity.Scale);
        for (var i = 0; i < cloud.Count; i++)
            Assert.True(Math.Abs(Levelling.Apply(Point(before, i)).Z - cloud.Coord[3 * i + 2]) < 1e-6, $"point {i} moved in z");
    }

    [Fact]
    public void TransformCamera_PreservesProjection_WhenSimilarityApplied()
    {
        var cloud = Cloud(4);
        var camera = LookAt(new V3(6, 1, 2), new V3(0, 0, 0));
        var intrinsics = PinholeIntrinsics.FromHorizontalFov(640, 480, 70);
        var point = new V3(0.3, 0.2, 0.1);

        var similarity = SceneNormalisation.Apply(cloud, Levelling, new SceneNormalisationSettings());
        var moved = similarity.TransformCamera(camera);

        var (u0, v0) = intrinsics.Project(camera.Inverse().Apply(point));
        var (u1, v1) = intrinsics.Project(moved.Inverse().Apply(similarity.Apply(point)));
        Assert.Equal(u0, u1, 9);
        Assert.Equal(v0, v1, 9);
    }
}
