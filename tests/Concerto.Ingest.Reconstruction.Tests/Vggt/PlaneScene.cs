using Concerto.Ingest.Core.Geometry;
using PoseCodec = Concerto.Ingest.Reconstruction.Vggt.PoseEncoding;

namespace Concerto.Ingest.Reconstruction.Tests.Vggt;

/// <summary>Exact VGGT outputs for S cameras looking at the plane z = <see cref="PlaneZ"/> (world = first camera, as VGGT
/// has it): pose encodings from the true cameras, depth by ray-plane intersection through every network pixel centre
/// with VGGT's intrinsics (principal point W/2, H/2), world points on the plane, and distinct confidences.</summary>
internal sealed record PlaneScene(int Frames, int Height, int Width, RigidTransform[] WorldToCamera, PinholeIntrinsics Intrinsics,
    float[] PoseEncoding, float[] Depth, float[] DepthConfidence, float[] WorldPoints, float[] WorldPointsConfidence)
{
    public const double PlaneZ = 2.0;
    public const double FovW = 1.0;

    public static PlaneScene Create(int frames, int height, int width)
    {
        var fx = width / 2.0 / Math.Tan(FovW / 2);
        var intrinsics = new PinholeIntrinsics(width, height, fx, fx, width / 2.0, height / 2.0);
        var plane = height * width;
        var worldToCamera = new RigidTransform[frames];
        var pose = new float[frames * PoseCodec.Length];
        var depth = new float[frames * plane];
        var depthConf = new float[frames * plane];
        var points = new float[frames * plane * 3];
        var pointsConf = new float[frames * plane];
        for (var i = 0; i < frames; i++)
        {
            // Camera i: moved sideways and slightly forward, turned a little; camera 0 is the world frame.
            var rotation = RotationY(0.05 * i) * RotationX(-0.03 * i);
            var cameraToWorld = new RigidTransform(rotation.ToArray(), new V3(0.1 * i, -0.05 * i, 0.02 * i));
            worldToCamera[i] = cameraToWorld.Inverse();
            var encoding = PoseCodec.Encode(worldToCamera[i], intrinsics);
            for (var k = 0; k < encoding.Length; k++) pose[i * encoding.Length + k] = (float)encoding[k];

            for (var v = 0; v < height; v++)
            {
                for (var u = 0; u < width; u++)
                {
                    var p = i * plane + v * width + u;
                    var direction = cameraToWorld.Rotate(intrinsics.Ray(u, v)); // z-depth 1 along the pixel's ray
                    var d = (PlaneZ - cameraToWorld.T.Z) / direction.Z;
                    var world = cameraToWorld.T + direction * d;
                    depth[p] = (float)d;
                    depthConf[p] = 1 + (u + 3 * v + 5 * i) % 11;
                    pointsConf[p] = 2 + (2 * u + v + i) % 7;
                    points[3 * p] = (float)world.X;
                    points[3 * p + 1] = (float)world.Y;
                    points[3 * p + 2] = (float)world.Z;
                }
            }
        }

        return new PlaneScene(frames, height, width, worldToCamera, intrinsics, pose, depth, depthConf, points, pointsConf);
    }

    private static Mat3 RotationY(double a) => new(Math.Cos(a), 0, Math.Sin(a), 0, 1, 0, -Math.Sin(a), 0, Math.Cos(a));

    private static Mat3 RotationX(double a) => new(1, 0, 0, 0, Math.Cos(a), -Math.Sin(a), 0, Math.Sin(a), Math.Cos(a));
}
