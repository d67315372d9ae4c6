using Concerto.Ingest.Core.Geometry;
using Concerto.Ingest.Reconstruction.Vggt;
using static Concerto.Ingest.Reconstruction.Tests.Alignment.RandomGeometry;

namespace Concerto.Ingest.Reconstruction.Tests.Vggt;

public class InputGeometryTests
{
    [Fact]
    public void Create_Gives518x294_WhenCropping1920x1080()
    {
        var g = InputGeometry.Create(1920, 1080, VggtInputMode.Crop);
        Assert.Equal((518, 294), (g.ResizedWidth, g.ResizedHeight));
        Assert.Equal((0, 0), (g.OffsetX, g.OffsetY));
        Assert.Equal((518, 294), (g.NetworkWidth, g.NetworkHeight));
    }

    [Fact]
    public void Create_CentreCropsTo518High_WhenCroppingTallFrame()
    {
        // 1920 * 518 / 1080 / 14 = 65.78 -> 66 * 14 = 924; crop rows 203..720.
        var g = InputGeometry.Create(1080, 1920, VggtInputMode.Crop);
        Assert.Equal((518, 924), (g.ResizedWidth, g.ResizedHeight));
        Assert.Equal((0, -203), (g.OffsetX, g.OffsetY));
        Assert.Equal((518, 518), (g.NetworkWidth, g.NetworkHeight));
    }

    [Fact]
    public void Create_RoundsHalfToEven_LikePython()
    {
        // 37 * (518 / 74) / 14 = 18.5 exactly: Python's round gives 18, not 19.
        Assert.Equal(252, InputGeometry.Create(74, 37, VggtInputMode.Crop).ResizedHeight);
    }

    [Fact]
    public void Create_PadsSymmetricallyTo518Square_WhenPadding()
    {
        var wide = InputGeometry.Create(1920, 1080, VggtInputMode.Pad);
        Assert.Equal((518, 294), (wide.ResizedWidth, wide.ResizedHeight));
        Assert.Equal((0, 112), (wide.OffsetX, wide.OffsetY));
        Assert.Equal((518, 518), (wide.NetworkWidth, wide.NetworkHeight));

        var tall = InputGeometry.Create(1080, 1920, VggtInputMode.Pad);
        Assert.Equal((294, 518), (tall.ResizedWidth, tall.ResizedHeight));
        Assert.Equal((112, 0), (tall.OffsetX, tall.OffsetY));
    }

    [Fact]
    public void NetworkToOriginal_MapsImageCentreToImageCentre_WhenPadding1920x1080()
    {
        // The centre of the 518x518 input (258.5, 258.5) is the centre of the 1920x1080 frame (959.5, 539.5).
        var g = InputGeometry.Create(1920, 1080, VggtInputMode.Pad);
        var (u, v) = g.NetworkToOriginal(258.5, 258.5);
        Assert.Equal(959.5, u, 9);
        Assert.Equal(539.5, v, 9);
        var (un, vn) = g.OriginalToNetwork(u, v);
        Assert.Equal(258.5, un, 9);
        Assert.Equal(258.5, vn, 9);
    }

    [Fact]
    public void ToOriginal_UndoesScaleAndCentreShift_ForHandComputedCase()
    {
        // Crop 1920x1080 -> 518x294, no offset; fov 90 deg both ways gives fx = 259, fy = 147, centre (259, 147).
        var g = InputGeometry.Create(1920, 1080, VggtInputMode.Crop);
        var network = PoseEncoding.Decode([0, 0, 0, 0, 0, 0, 1, Math.PI / 2, Math.PI / 2], 294, 518).Intrinsics;
        var k = g.ToOriginal(network);
        Assert.Equal(960, k.Fx, 9);                          // 259 * 1920 / 518
        Assert.Equal(540, k.Fy, 9);                          // 147 * 1080 / 294
        Assert.Equal(259.5 * 1920 / 518 - 0.5, k.Cx, 9);     // centre-aligned: (259 + 0.5) / scale - 0.5
        Assert.Equal(147.5 * 1080 / 294 - 0.5, k.Cy, 9);
    }

    [Theory]
    [InlineData(1920, 1080, VggtInputMode.Crop)]
    [InlineData(1080, 1920, VggtInputMode.Crop)]
    [InlineData(1279, 719, VggtInputMode.Crop)]
    [InlineData(1920, 1080, VggtInputMode.Pad)]
    [InlineData(1080, 1920, VggtInputMode.Pad)]
    [InlineData(641, 479, VggtInputMode.Pad)]
    public void ToOriginal_ProjectsToTheMappedPixel_ForRandomPoints(int width, int height, VggtInputMode mode)
    {
        var rng = new Random(width * 7 + height);
        var g = InputGeometry.Create(width, height, mode);
        double[] encoding = [0, 0, 0, 0, 0, 0, 1, Uniform(rng, 0.5, 1.5), Uniform(rng, 0.5, 1.5)];
        var network = PoseEncoding.Decode(encoding, g.NetworkHeight, g.NetworkWidth).Intrinsics;
        var original = g.ToOriginal(network);
        Assert.Equal((width, height), (original.Width, original.Height));

        for (var i = 0; i < 200; i++)
        {
            var point = new V3(Uniform(rng, -2, 2), Uniform(rng, -2, 2), Uniform(rng, 0.5, 5));
            var (un, vn) = network.Project(point);
            var (uExpected, vExpected) = g.NetworkToOriginal(un, vn);
            var (u, v) = original.Project(point);
            Assert.True(Math.Abs(u - uExpected) < 1e-9 && Math.Abs(v - vExpected) < 1e-9, $"({u}, {v}) vs ({uExpected}, {vExpected})");
        }
    }

    [Fact]
    public void Create_Throws_WhenFrameIsTooElongated()
    {
        Assert.Throws<ArgumentException>(() => InputGeometry.Create(10000, 5, VggtInputMode.Pad));
    }
}
