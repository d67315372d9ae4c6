namespace Concerto.Ingest.Core.Geometry;

/// <summary>A 3x3 matrix in double precision, row-major (M[row, col] = Values[3 * row + col]).</summary>
public readonly record struct Mat3(
    double M00, double M01, double M02,
    double M10, double M11, double M12,
    double M20, double M21, double M22)
{
    public static readonly Mat3 Identity = new(1, 0, 0, 0, 1, 0, 0, 0, 1);

    private static readonly (int P, int Q)[] JacobiPairs = [(0, 1), (0, 2), (1, 2)];

    public static Mat3 FromRows(V3 r0, V3 r1, V3 r2) => new(r0.X, r0.Y, r0.Z, r1.X, r1.Y, r1.Z, r2.X, r2.Y, r2.Z);

    public static Mat3 FromColumns(V3 c0, V3 c1, V3 c2) => new(c0.X, c1.X, c2.X, c0.Y, c1.Y, c2.Y, c0.Z, c1.Z, c2.Z);

    /// <summary>a b^T.</summary>
    public static Mat3 Outer(V3 a, V3 b) =>
        new(a.X * b.X, a.X * b.Y, a.X * b.Z, a.Y * b.X, a.Y * b.Y, a.Y * b.Z, a.Z * b.X, a.Z * b.Y, a.Z * b.Z);

    public V3 Row(int i) => i switch { 0 => new(M00, M01, M02), 1 => new(M10, M11, M12), _ => new(M20, M21, M22) };
    public V3 Column(int j) => j switch { 0 => new(M00, M10, M20), 1 => new(M01, M11, M21), _ => new(M02, M12, M22) };

    public Mat3 Transpose() => new(M00, M10, M20, M01, M11, M21, M02, M12, M22);

    public double Determinant() =>
        M00 * (M11 * M22 - M12 * M21) - M01 * (M10 * M22 - M12 * M20) + M02 * (M10 * M21 - M11 * M20);

    public double Trace => M00 + M11 + M22;

    public static V3 operator *(Mat3 m, V3 v) => new(m.Row(0).Dot(v), m.Row(1).Dot(v), m.Row(2).Dot(v));

    public static Mat3 operator *(Mat3 a, Mat3 b) => FromColumns(a * b.Column(0), a * b.Column(1), a * b.Column(2));

    public static Mat3 operator +(Mat3 a, Mat3 b) => new(a.M00 + b.M00, a.M01 + b.M01, a.M02 + b.M02, a.M10 + b.M10, a.M11 + b.M11,
        a.M12 + b.M12, a.M20 + b.M20, a.M21 + b.M21, a.M22 + b.M22);

    public static Mat3 operator *(Mat3 a, double s) => new(a.M00 * s, a.M01 * s, a.M02 * s, a.M10 * s, a.M11 * s, a.M12 * s,
        a.M20 * s, a.M21 * s, a.M22 * s);

    public double[] ToArray() => [M00, M01, M02, M10, M11, M12, M20, M21, M22];

    public static Mat3 FromArray(IReadOnlyList<double> m)
    {
        ArgumentNullException.ThrowIfNull(m);
        return new(m[0], m[1], m[2], m[3], m[4], m[5], m[6], m[7], m[8]);
    }

    /// <summary>Eigen-decomposition of a symmetric matrix by cyclic Jacobi rotations: eigenvalues in ascending order,
    /// eigenvectors as the matching columns of an orthonormal matrix.</summary>
    public (V3 Values, Mat3 Vectors) SymmetricEigen()
    {
        var a = ToArray();
        var v = Identity.ToArray();
        for (var sweep = 0; sweep < 50; sweep++)
        {
            var off = a[1] * a[1] + a[2] * a[2] + a[5] * a[5];
            if (off < 1e-30) break;
            foreach (var (p, q) in JacobiPairs)
            {
                var apq = a[3 * p + q];
                if (Math.Abs(apq) < 1e-300) continue;
                var theta = (a[3 * q + q] - a[3 * p + p]) / (2 * apq);
                var t = Math.Sign(theta) / (Math.Abs(theta) + Math.Sqrt(theta * theta + 1));
                if (theta == 0) t = 1;
                var c = 1 / Math.Sqrt(t * t + 1);
                var s = t * c;
                for (var k = 0; k < 3; k++)
                {
                    // A = J^T A J, applied as column then row rotations; V = V J.
                    double akp = a[3 * k + p], akq = a[3 * k + q];
                    a[3 * k + p] = c * akp - s * akq;
                    a[3 * k + q] = s * akp + c * akq;
                }

                for (var k = 0; k < 3; k++)
                {
                    double apk = a[3 * p + k], aqk = a[3 * q + k];
                    a[3 * p + k] = c * apk - s * aqk;
                    a[3 * q + k] = s * apk + c * aqk;
                }

                for (var k = 0; k < 3; k++)
                {
                    double vkp = v[3 * k + p], vkq = v[3 * k + q];
                    v[3 * k + p] = c * vkp - s * vkq;
                    v[3 * k + q] = s * vkp + c * vkq;
                }
            }
        }

        // Sort the three eigenpairs ascending (a tiny fixed sort: this runs once per point when estimating normals).
        int i0 = 0, i1 = 1, i2 = 2;
        if (a[4 * i0] > a[4 * i1]) (i0, i1) = (i1, i0);
        if (a[4 * i1] > a[4 * i2]) (i1, i2) = (i2, i1);
        if (a[4 * i0] > a[4 * i1]) (i0, i1) = (i1, i0);
        var vectors = FromArray(v);
        return (new V3(a[4 * i0], a[4 * i1], a[4 * i2]), FromColumns(vectors.Column(i0), vectors.Column(i1), vectors.Column(i2)));
    }

    /// <summary>Singular value decomposition M = U diag(S) V^T (S descending; U, V orthogonal, possibly with
    /// determinant -1), from the eigen-decomposition of M^T M.</summary>
    public (Mat3 U, V3 S, Mat3 V) Svd()
    {
        var (values, vectors) = (Transpose() * this).SymmetricEigen();
        // Descending order.
        var v = FromColumns(vectors.Column(2), vectors.Column(1), vectors.Column(0));
        var s = new V3(Math.Sqrt(Math.Max(values.Z, 0)), Math.Sqrt(Math.Max(values.Y, 0)), Math.Sqrt(Math.Max(values.X, 0)));
        var u0 = s.X > 1e-300 ? (this * v.Column(0)) / s.X : new V3(1, 0, 0);
        var u1 = s.Y > 1e-12 * Math.Max(s.X, 1e-300) ? (this * v.Column(1)) / s.Y : AnyPerpendicular(u0);
        u1 = (u1 - u0 * u0.Dot(u1)).Normalized;
        var u2 = u0.Cross(u1);
        // Keep M = U S V^T exact when the third singular value is not negligible (u2 may point the other way).
        if (s.Z > 1e-12 * Math.Max(s.X, 1e-300) && (this * v.Column(2)).Dot(u2) < 0) u2 = -u2;
        return (FromColumns(u0, u1, u2), s, v);
    }

    private static V3 AnyPerpendicular(V3 a) =>
        (Math.Abs(a.X) < 0.9 ? new V3(1, 0, 0) : new V3(0, 1, 0)).Cross(a).Normalized;
}
