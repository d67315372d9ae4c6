using Concerto.Ingest.Core.Geometry;

namespace Concerto.Ingest.Reconstruction.Vggt;

/// <summary>One frame's camera as VGGT predicts it: world-to-camera extrinsic (OpenCV axes, world = first camera) and
/// intrinsics in network-input pixels.</summary>
public sealed record VggtCamera(RigidTransform WorldToCamera, PinholeIntrinsics Intrinsics);

/// <summary>VGGT's 9-value pose encoding: translation (3), quaternion x, y, z, w with the scalar LAST and not
/// normalised (4), vertical and horizontal field of view in radians (2).</summary>
public static class PoseEncoding
{
    public const int Length = 9;

    /// <summary>Decodes one frame's encoding for a network input of <paramref name="height"/> x <paramref name="width"/>.</summary>
    public static VggtCamera Decode(ReadOnlySpan<double> encoding, int height, int width)
    {
        if (encoding.Length != Length)
            throw new ArgumentException($"a VGGT pose encoding has {Length} values; got {encoding.Length}", nameof(encoding));
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(height);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(width);
        var rotation = QuaternionToRotation(encoding[3], encoding[4], encoding[5], encoding[6]);
        var extrinsic = new RigidTransform(rotation.ToArray(), new V3(encoding[0], encoding[1], encoding[2]));
        double fovH = encoding[7], fovW = encoding[8];
        if (!(fovH > 0 && fovH < Math.PI && fovW > 0 && fovW < Math.PI))
            throw new ArgumentException($"fields of view ({fovH}, {fovW}) rad must lie in (0, pi)", nameof(encoding));
        // VGGT's convention: principal point at (W/2, H/2), not the (W-1)/2 of PinholeIntrinsics.FromHorizontalFov.
        var intrinsics = new PinholeIntrinsics(
            width, height, width / 2.0 / Math.Tan(fovW / 2), height / 2.0 / Math.Tan(fovH / 2), width / 2.0, height / 2.0);
        return new VggtCamera(extrinsic, intrinsics);
    }

    /// <summary>Decodes a float32 encoding as the ONNX export emits it.</summary>
    public static VggtCamera Decode(ReadOnlySpan<float> encoding, int height, int width)
    {
        Span<double> values = stackalloc double[Length];
        if (encoding.Length != Length)
            throw new ArgumentException($"a VGGT pose encoding has {Length} values; got {encoding.Length}", nameof(encoding));
        for (var i = 0; i < Length; i++) values[i] = encoding[i];
        return Decode(values, height, width);
    }

    /// <summary>Encodes a camera (inverse of <see cref="Decode(ReadOnlySpan{double}, int, int)"/>): unit quaternion with
    /// w >= 0, fov_h = 2 atan((H/2)/fy), fov_w = 2 atan((W/2)/fx). The principal point is not encoded.</summary>
    public static double[] Encode(RigidTransform worldToCamera, PinholeIntrinsics intrinsics)
    {
        ArgumentNullException.ThrowIfNull(worldToCamera);
        ArgumentNullException.ThrowIfNull(intrinsics);
        var (x, y, z, w) = RotationToQuaternion(Mat3.FromArray(worldToCamera.R));
        var t = worldToCamera.T;
        return [t.X, t.Y, t.Z, x, y, z, w,
            2 * Math.Atan(intrinsics.Height / 2.0 / intrinsics.Fy), 2 * Math.Atan(intrinsics.Width / 2.0 / intrinsics.Fx)];
    }

    /// <summary>Rotation of an unnormalised quaternion (scalar last), with s = 2 / |q|^2 as in VGGT.</summary>
    public static Mat3 QuaternionToRotation(double x, double y, double z, double w)
    {
        var n2 = x * x + y * y + z * z + w * w;
        if (!(n2 > 1e-300) || !double.IsFinite(n2))
            throw new ArgumentException($"quaternion ({x}, {y}, {z}, {w}) has no usable norm", nameof(x));
        var s = 2 / n2;
        return new Mat3(
            1 - s * (y * y + z * z), s * (x * y - z * w), s * (x * z + y * w),
            s * (x * y + z * w), 1 - s * (x * x + z * z), s * (y * z - x * w),
            s * (x * z - y * w), s * (y * z + x * w), 1 - s * (x * x + y * y));
    }

    /// <summary>Unit quaternion (x, y, z, w) with w >= 0 of a proper rotation, by Shepperd's method (divide by the largest
    /// of the four candidate magnitudes for accuracy).</summary>
    public static (double X, double Y, double Z, double W) RotationToQuaternion(Mat3 r)
    {
        double x, y, z, w;
        var trace = r.Trace;
        if (trace >= r.M00 && trace >= r.M11 && trace >= r.M22)
        {
            var f = 2 * Math.Sqrt(1 + trace); // 4w
            (w, x, y, z) = (f / 4, (r.M21 - r.M12) / f, (r.M02 - r.M20) / f, (r.M10 - r.M01) / f);
        }
        else if (r.M00 >= r.M11 && r.M00 >= r.M22)
        {
            var f = 2 * Math.Sqrt(1 + r.M00 - r.M11 - r.M22); // 4x
            (w, x, y, z) = ((r.M21 - r.M12) / f, f / 4, (r.M01 + r.M10) / f, (r.M02 + r.M20) / f);
        }
        else if (r.M11 >= r.M22)
        {
            var f = 2 * Math.Sqrt(1 - r.M00 + r.M11 - r.M22); // 4y
            (w, x, y, z) = ((r.M02 - r.M20) / f, (r.M01 + r.M10) / f, f / 4, (r.M12 + r.M21) / f);
        }
        else
        {
            var f = 2 * Math.Sqrt(1 - r.M00 - r.M11 + r.M22); // 4z
            (w, x, y, z) = ((r.M10 - r.M01) / f, (r.M02 + r.M20) / f, (r.M12 + r.M21) / f, f / 4);
        }

        var n = Math.Sqrt(x * x + y * y + z * z + w * w);
        var sign = w < 0 ? -1 : 1;
        return (sign * x / n, sign * y / n, sign * z / n, sign * w / n);
    }
}
