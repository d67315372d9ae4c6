using Concerto.Ingest.Core.Geometry;
using Concerto.Ingest.Reconstruction.Alignment;

namespace Concerto.Ingest.Reconstruction.Tests.Alignment;

/// <summary>Random test geometry and error measures, independent of the code under test.</summary>
internal static class RandomGeometry
{
    public static double Uniform(Random rng, double min, double max) => min + (max - min) * rng.NextDouble();

    public static V3 InCube(Random rng, double half) =>
        new(Uniform(rng, -half, half), Uniform(rng, -half, half), Uniform(rng, -half, half));

    public static double Gaussian(Random rng) =>
        Math.Sqrt(-2 * Math.Log(1 - rng.NextDouble())) * Math.Cos(2 * Math.PI * rng.NextDouble());

    public static V3 GaussianV3(Random rng, double sigma) => new V3(Gaussian(rng), Gaussian(rng), Gaussian(rng)) * sigma;

    public static V3 UnitVector(Random rng)
    {
        while (true)
        {
            var v = InCube(rng, 1);
            if (v.Length is > 0.1 and <= 1) return v.Normalized;
        }
    }

    /// <summary>Rodrigues: rotation by <paramref name="angle"/> about the unit <paramref name="axis"/>.</summary>
    public static Mat3 AxisAngle(V3 axis, double angle)
    {
        var k = new Mat3(0, -axis.Z, axis.Y, axis.Z, 0, -axis.X, -axis.Y, axis.X, 0);
        return Mat3.Identity + k * Math.Sin(angle) + k * k * (1 - Math.Cos(angle));
    }

    public static Mat3 Rotation(Random rng) => AxisAngle(UnitVector(rng), Uniform(rng, 0, Math.PI));

    public static Sim3 Similarity(Random rng) =>
        new(Uniform(rng, 0.3, 3), Rotation(rng), InCube(rng, 5));

    public static double MaxAbsDiff(Mat3 a, Mat3 b) => a.ToArray().Zip(b.ToArray()).Max(p => Math.Abs(p.First - p.Second));

    /// <summary>Angle of a^T b in degrees.</summary>
    public static double AngleDegrees(Mat3 a, Mat3 b) =>
        Math.Acos(Math.Clamp(((a.Transpose() * b).Trace - 1) / 2, -1, 1)) * 180 / Math.PI;
}
