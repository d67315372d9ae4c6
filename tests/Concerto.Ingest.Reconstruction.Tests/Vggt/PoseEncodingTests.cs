using Concerto.Ingest.Core.Geometry;
using Concerto.Ingest.Reconstruction.Vggt;
using static Concerto.Ingest.Reconstruction.Tests.Alignment.RandomGeometry;

namespace Concerto.Ingest.Reconstruction.Tests.Vggt;

public class PoseEncodingTests
{
    private const double Fov = 1.0;

    [Fact]
    public void Decode_GivesIdentityRotationAndTranslation_WhenQuaternionIsIdentity()
    {
        double[] encoding = [1, -2, 3, 0, 0, 0, 1, Fov, Fov];
        var extrinsic = PoseEncoding.Decode(encoding, 294, 518).WorldToCamera;
        Assert.Equal(Mat3.Identity.ToArray(), extrinsic.R);
        Assert.Equal(new V3(1, -2, 3), extrinsic.T);
    }

    [Fact]
    public void Decode_Rotates90DegreesAboutZ_WhenQuaternionIsScaledByTwo()
    {
        // q = 2 (0, 0, sin 45, cos 45): |q|^2 = 4, s = 1/2; the formula needs no normalisation.
        var h = 2 * Math.Sqrt(0.5);
        double[] encoding = [0, 0, 0, 0, 0, h, h, Fov, Fov];
        var r = PoseEncoding.Decode(encoding, 294, 518).WorldToCamera.R;
        double[] expected = [0, -1, 0, 1, 0, 0, 0, 0, 1];
        Assert.True(expected.Zip(r).All(p => Math.Abs(p.First - p.Second) < 1e-15), string.Join(", ", r));
    }

    [Fact]
    public void Decode_GivesHandComputedIntrinsics_ForNetworkSize294x518()
    {
        // fov_h = 60 deg, fov_w = 90 deg: fy = 147 / tan 30 = 147 sqrt 3, fx = 259 / tan 45 = 259; centre (W/2, H/2).
        double[] encoding = [0, 0, 0, 0, 0, 0, 1, Math.PI / 3, Math.PI / 2];
        var k = PoseEncoding.Decode(encoding, 294, 518).Intrinsics;
        Assert.Equal((518, 294), (k.Width, k.Height));
        Assert.Equal(259, k.Fx, 12);
        Assert.Equal(147 * Math.Sqrt(3), k.Fy, 12);
        Assert.Equal(259, k.Cx);
        Assert.Equal(147, k.Cy);
    }

    [Fact]
    public void Decode_MatchesDoublePath_WhenGivenFloat32()
    {
        float[] encoding = [0.5f, 0.25f, -1, 0.1f, 0.2f, 0.3f, 0.9f, 0.8f, 1.2f];
        var fromFloat = PoseEncoding.Decode(encoding, 518, 518);
        var fromDouble = PoseEncoding.Decode(encoding.Select(v => (double)v).ToArray(), 518, 518);
        Assert.Equal(fromDouble.WorldToCamera.R, fromFloat.WorldToCamera.R);
        Assert.Equal(fromDouble.Intrinsics, fromFloat.Intrinsics);
    }

    [Fact]
    public void Decode_Throws_WhenEncodingHasWrongLength()
    {
        var ex = Assert.Throws<ArgumentException>(() => PoseEncoding.Decode(new double[7], 518, 518));
        Assert.Contains("9 values", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Encode_RoundTripsThroughDecode_ForRandomPosesAndHalfTurns()
    {
        var rng = new Random(31);
        var rotations = Enumerable.Range(0, 50).Select(_ => Rotation(rng))
            .Concat([AxisAngle(new V3(1, 0, 0), Math.PI), AxisAngle(new V3(0, 1, 0), Math.PI), AxisAngle(new V3(0, 0, 1), Math.PI)]);
        foreach (var rotation in rotations)
        {
            var pose = new RigidTransform(rotation.ToArray(), InCube(rng, 3));
            var intrinsics = new PinholeIntrinsics(518, 294, Uniform(rng, 200, 800), Uniform(rng, 200, 800), 259, 147);

            var encoding = PoseEncoding.Encode(pose, intrinsics);
            Assert.Equal(9, encoding.Length);
            Assert.Equal(1, encoding[3] * encoding[3] + encoding[4] * encoding[4] + encoding[5] * encoding[5] + encoding[6] * encoding[6], 12);
            Assert.True(encoding[6] >= 0);

            var decoded = PoseEncoding.Decode(encoding, 294, 518);
            Assert.True(pose.R.Zip(decoded.WorldToCamera.R).All(p => Math.Abs(p.First - p.Second) < 1e-12));
            Assert.Equal(pose.T, decoded.WorldToCamera.T);
            Assert.Equal(intrinsics.Fx, decoded.Intrinsics.Fx, 9);
            Assert.Equal(intrinsics.Fy, decoded.Intrinsics.Fy, 9);
            Assert.Equal(intrinsics, decoded.Intrinsics with { Fx = intrinsics.Fx, Fy = intrinsics.Fy });
        }
    }
}
