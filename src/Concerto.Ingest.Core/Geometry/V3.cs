namespace Concerto.Ingest.Core.Geometry;

/// <summary>A 3D vector in double precision (render math needs sub-millimetre exactness at room scale).</summary>
public readonly record struct V3(double X, double Y, double Z)
{
    public static readonly V3 Zero = new(0, 0, 0);
    public static readonly V3 UnitZ = new(0, 0, 1);

    public static V3 operator +(V3 a, V3 b) => new(a.X + b.X, a.Y + b.Y, a.Z + b.Z);
    public static V3 operator -(V3 a, V3 b) => new(a.X - b.X, a.Y - b.Y, a.Z - b.Z);
    public static V3 operator -(V3 a) => new(-a.X, -a.Y, -a.Z);
    public static V3 operator *(V3 a, double s) => new(a.X * s, a.Y * s, a.Z * s);
    public static V3 operator *(double s, V3 a) => a * s;
    public static V3 operator /(V3 a, double s) => new(a.X / s, a.Y / s, a.Z / s);

    public double Dot(V3 b) => X * b.X + Y * b.Y + Z * b.Z;
    public V3 Cross(V3 b) => new(Y * b.Z - Z * b.Y, Z * b.X - X * b.Z, X * b.Y - Y * b.X);
    public double Length => Math.Sqrt(Dot(this));
    public V3 Normalized => this / Length;
    public V3 Abs => new(Math.Abs(X), Math.Abs(Y), Math.Abs(Z));
    public static V3 Max(V3 a, V3 b) => new(Math.Max(a.X, b.X), Math.Max(a.Y, b.Y), Math.Max(a.Z, b.Z));
    public double MaxComponent => Math.Max(X, Math.Max(Y, Z));

    // The generated record ToString would print Normalized and Abs, which are V3s themselves: endless recursion.
    public override string ToString() => string.Create(System.Globalization.CultureInfo.InvariantCulture, $"({X}, {Y}, {Z})");
}

/// <summary>A rigid transform x' = R x + t; R is row-major 3x3.</summary>
public sealed record RigidTransform(double[] R, V3 T)
{
    public V3 Apply(V3 p) => Rotate(p) + T;

    public V3 Rotate(V3 v) => new(
        R[0] * v.X + R[1] * v.Y + R[2] * v.Z,
        R[3] * v.X + R[4] * v.Y + R[5] * v.Z,
        R[6] * v.X + R[7] * v.Y + R[8] * v.Z);

    public RigidTransform Inverse()
    {
        double[] rt = [R[0], R[3], R[6], R[1], R[4], R[7], R[2], R[5], R[8]];
        var inverse = new RigidTransform(rt, V3.Zero);
        return inverse with { T = -inverse.Rotate(T) };
    }

    /// <summary>Camera-to-world for a camera at <paramref name="position"/> with OpenCV axes given in world
    /// coordinates: x right, y down, z forward (the columns of R).</summary>
    public static RigidTransform FromAxes(V3 right, V3 down, V3 forward, V3 position) =>
        new([right.X, down.X, forward.X, right.Y, down.Y, forward.Y, right.Z, down.Z, forward.Z], position);

    /// <summary>Row-major 4x4, as stored in the sidecar.</summary>
    public double[] ToMatrix4() => [R[0], R[1], R[2], T.X, R[3], R[4], R[5], T.Y, R[6], R[7], R[8], T.Z, 0, 0, 0, 1];

    public static RigidTransform FromMatrix4(IReadOnlyList<double> m)
    {
        ArgumentNullException.ThrowIfNull(m);
        if (m.Count != 16) throw new ArgumentException("a 4x4 matrix has 16 values", nameof(m));
        return new([m[0], m[1], m[2], m[4], m[5], m[6], m[8], m[9], m[10]], new V3(m[3], m[7], m[11]));
    }
}

/// <summary>Pinhole intrinsics in pixels, OpenCV convention: pixel (u, v) with integer coordinates is the centre of
/// that pixel, and the ray through it has camera direction ((u - Cx) / Fx, (v - Cy) / Fy, 1).</summary>
public sealed record PinholeIntrinsics(int Width, int Height, double Fx, double Fy, double Cx, double Cy)
{
    /// <summary>Square pixels, principal point at the image centre, horizontal field of view in degrees.</summary>
    public static PinholeIntrinsics FromHorizontalFov(int width, int height, double fovDegrees)
    {
        var f = width / 2.0 / Math.Tan(fovDegrees * Math.PI / 360.0);
        return new PinholeIntrinsics(width, height, f, f, (width - 1) / 2.0, (height - 1) / 2.0);
    }

    public V3 Ray(double u, double v) => new((u - Cx) / Fx, (v - Cy) / Fy, 1);

    /// <summary>The same camera for the image resized to <paramref name="width"/> x <paramref name="height"/>
    /// (centre-aligned resize: u' + 0.5 = (u + 0.5) * width / Width).</summary>
    public PinholeIntrinsics ScaledTo(int width, int height)
    {
        if (width == Width && height == Height) return this;
        double sx = (double)width / Width, sy = (double)height / Height;
        return new PinholeIntrinsics(width, height, Fx * sx, Fy * sy, (Cx + 0.5) * sx - 0.5, (Cy + 0.5) * sy - 0.5);
    }

    /// <summary>Row-major 3x3 camera matrix.</summary>
    public double[] ToMatrix3() => [Fx, 0, Cx, 0, Fy, Cy, 0, 0, 1];

    /// <summary>Pixel coordinates of a camera-frame point (z must be positive).</summary>
    public (double U, double V) Project(V3 camera) => (Fx * camera.X / camera.Z + Cx, Fy * camera.Y / camera.Z + Cy);
}
