using Concerto.Ingest.Core.Geometry;
using Concerto.Ingest.Synthetic.Geometry;
using Concerto.Ingest.Synthetic.Scenes;

namespace Concerto.Ingest.Synthetic.Tests.Geometry;

public class ShapeTests
{
    [Fact]
    public void BoxIntersect_HitsEntryFaceFromOutside_AndExitFaceWithInwardNormalFromInside()
    {
        var box = new OrientedBox(new V3(0, 0, 0), new V3(1, 2, 3), yaw: 0);
        Assert.True(box.Intersect(new V3(-5, 0, 0), new V3(1, 0, 0), 0, 100, out var outside));
        Assert.Equal((4.0, 0), (outside.T, outside.Face));                 // enters through -x
        Assert.Equal(new V3(-1, 0, 0), outside.Normal);
        Assert.True(box.Intersect(new V3(0, 0, 0), new V3(0, 1, 0), 0, 100, out var inside));
        Assert.Equal((2.0, 3), (inside.T, inside.Face));                  // leaves through +y
        Assert.Equal(new V3(0, -1, 0), inside.Normal);                    // facing back into the box
    }

    [Fact]
    public void RotatedBox_DistanceAndContains_AgreeWithItsFrame()
    {
        var box = new OrientedBox(new V3(1, 1, 0.5), new V3(0.5, 0.25, 0.5), yaw: Math.PI / 2);
        // Rotated 90 degrees: the long side (x half 0.5) now lies along world y.
        Assert.True(box.Contains(new V3(1, 1.45, 0.5)));
        Assert.False(box.Contains(new V3(1.45, 1, 0.5)));
        Assert.Equal(0.05, box.DistanceToSurface(new V3(1, 1.45, 0.5)), 12);   // inside: distance to the +y face
        Assert.Equal(0.2, box.DistanceToSurface(new V3(1.45, 1, 0.5)), 12);    // outside the x face
    }

    [Fact]
    public void CylinderSample_CoversEachSampledFaceInProportionToArea()
    {
        var cylinder = new VerticalCylinder(0, 0, radius: 1, zMin: 0, zMax: 1, sampledFaces: 0b111);
        var rng = new Random(1);
        int side = 0, bottom = 0, top = 0;
        for (var i = 0; i < 60_000; i++)
        {
            var (p, n) = cylinder.Sample(rng);
            Assert.True(cylinder.DistanceToSurface(p) < 1e-12);
            if (n.Z < -0.5) bottom++;
            else if (n.Z > 0.5) top++;
            else side++;
        }

        // Areas: side 2 pi, each cap pi -> shares 1/2, 1/4, 1/4.
        Assert.InRange(side / 60_000.0, 0.49, 0.51);
        Assert.InRange(bottom / 60_000.0, 0.24, 0.26);
        Assert.InRange(top / 60_000.0, 0.24, 0.26);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(7)]
    [InlineData(1306)]
    public void GroundTruthCloud_LiesOnExposedSurfaces(int seed)
    {
        var scene = SceneGenerator.Generate(seed);
        var cloud = GroundTruthCloud.Sample(scene, 20_000, seed);
        var exposed = 0;
        for (var k = 0; k < cloud.Count; k++)
        {
            var normal = new V3(cloud.Normal[3 * k], cloud.Normal[3 * k + 1], cloud.Normal[3 * k + 2]);
            // 2 mm off the surface along its normal must be open air; points on faces hidden behind or under other
            // solids (floor under furniture, wall behind a picture) are not.
            if (!scene.IsInsideMatter(cloud.Point(k) + normal * 0.002)) exposed++;
        }

        Assert.True(exposed >= 0.95 * cloud.Count, $"seed {seed}: {exposed} of {cloud.Count} points exposed");
    }

    [Fact]
    public void V3_ToString_PrintsComponents()
    {
        Assert.Equal("(1, -2.5, 3)", new V3(1, -2.5, 3).ToString());
    }
}
