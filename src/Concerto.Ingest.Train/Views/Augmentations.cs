namespace Concerto.Ingest.Train.Views;

public enum RotationAxis
{
    X,
    Y,
    Z,
}

/// <summary>Point-cloud augmentations of Sonata and Concerto (spec sections 2 and 3) on row-major N x 3 arrays.
/// Every method here works IN PLACE on the spans it is given; <see cref="ViewAugmentation"/> wraps them so that
/// samples are never modified (it copies first). Colours are in [0, 255]. Probabilistic steps draw
/// <c>random.NextDouble() &lt; p</c>; every random choice comes from the <see cref="Random"/> passed in.</summary>
public static class Augmentations
{
    /// <summary>ITU-R 601 luma weights, as torchvision's rgb_to_grayscale.</summary>
    public const float GrayR = 0.2989f, GrayG = 0.587f, GrayB = 0.114f;

    // ---- colour ----

    /// <summary>torchvision-style colour jitter on [0, 255] colours: factors b ~ U(max(0, 1 - brightness), 1 + brightness),
    /// c ~ U(max(0, 1 - contrast), 1 + contrast), s ~ U(max(0, 1 - saturation), 1 + saturation), h ~ U(-hue, hue); the
    /// four adjustments run in a random order and each applies with probability <paramref name="p"/> on its own (the
    /// reference's RandomColorJitter; a zero strength skips its adjustment). Spec: brightness 0.4, contrast 0.4,
    /// saturation 0.2, hue 0.02, p 0.8.</summary>
    public static void ColorJitter(Span<float> color, Random random, double brightness, double contrast, double saturation, double hue, double p)
    {
        ArgumentNullException.ThrowIfNull(random);
        Span<int> order = [0, 1, 2, 3];
        for (var i = 3; i > 0; i--)
        {
            var j = random.Next(i + 1);
            (order[i], order[j]) = (order[j], order[i]);
        }

        var b = Uniform(random, Math.Max(0, 1 - brightness), 1 + brightness);
        var c = Uniform(random, Math.Max(0, 1 - contrast), 1 + contrast);
        var s = Uniform(random, Math.Max(0, 1 - saturation), 1 + saturation);
        var h = Uniform(random, -hue, hue);
        foreach (var op in order)
        {
            var strength = op switch { 0 => brightness, 1 => contrast, 2 => saturation, _ => hue };
            if (strength == 0 || random.NextDouble() >= p) continue;
            switch (op)
            {
                case 0: AdjustBrightness(color, (float)b); break;
                case 1: AdjustContrast(color, (float)c); break;
                case 2: AdjustSaturation(color, (float)s); break;
                default: AdjustHue(color, (float)h); break;
            }
        }
    }

    /// <summary>colour * factor, clipped to [0, 255] (a blend with black).</summary>
    public static void AdjustBrightness(Span<float> color, float factor)
    {
        for (var i = 0; i < color.Length; i++) color[i] = Clip255(color[i] * factor);
    }

    /// <summary>Blend with the mean grey level of the whole cloud: factor * colour + (1 - factor) * mean, clipped.</summary>
    public static void AdjustContrast(Span<float> color, float factor)
    {
        var n = color.Length / 3;
        if (n == 0) return;
        double sum = 0;
        for (var i = 0; i < n; i++) sum += Gray(color, i);
        var mean = (float)(sum / n) * (1 - factor);
        for (var i = 0; i < color.Length; i++) color[i] = Clip255(factor * color[i] + mean);
    }

    /// <summary>Blend with each point's own grey level: factor * colour + (1 - factor) * grey, clipped.</summary>
    public static void AdjustSaturation(Span<float> color, float factor)
    {
        for (var i = 0; i < color.Length / 3; i++)
        {
            var gray = Gray(color, i) * (1 - factor);
            color[3 * i] = Clip255(factor * color[3 * i] + gray);
            color[3 * i + 1] = Clip255(factor * color[3 * i + 1] + gray);
            color[3 * i + 2] = Clip255(factor * color[3 * i + 2] + gray);
        }
    }

    /// <summary>Rotates the hue by <paramref name="shift"/> turns (in [-0.5, 0.5]) through HSV, keeping saturation and value.</summary>
    public static void AdjustHue(Span<float> color, float shift)
    {
        for (var i = 0; i < color.Length / 3; i++)
        {
            float r = color[3 * i] / 255f, g = color[3 * i + 1] / 255f, b = color[3 * i + 2] / 255f;
            float max = MathF.Max(r, MathF.Max(g, b)), min = MathF.Min(r, MathF.Min(g, b));
            if (max == min) continue; // grey: hue undefined, rotation changes nothing
            var range = max - min;
            var sat = range / max;
            float h;
            if (max == r) h = (g - b) / range;
            else if (max == g) h = 2f + (b - r) / range;
            else h = 4f + (r - g) / range;
            h = h / 6f + shift;
            h -= MathF.Floor(h);

            var sector = h * 6f;
            var k = (int)MathF.Floor(sector);
            var f = sector - k;
            var p = Math.Clamp(max * (1 - sat), 0f, 1f);
            var q = Math.Clamp(max * (1 - sat * f), 0f, 1f);
            var t = Math.Clamp(max * (1 - sat * (1 - f)), 0f, 1f);
            (r, g, b) = (k % 6) switch
            {
                0 => (max, t, p),
                1 => (q, max, p),
                2 => (p, max, t),
                3 => (p, q, max),
                4 => (t, p, max),
                _ => (max, p, q),
            };
            color[3 * i] = r * 255f;
            color[3 * i + 1] = g * 255f;
            color[3 * i + 2] = b * 255f;
        }
    }

    /// <summary>With probability p, adds one offset per channel, (U(0, 1) - 0.5) * 255 * 2 * ratio, to every point and
    /// clips to [0, 255] (the reference ChromaticTranslation; spec: p 0.95, ratio 0.05, so at most +-12.75).</summary>
    public static void ChromaticTranslation(Span<float> color, Random random, double ratio, double p)
    {
        ArgumentNullException.ThrowIfNull(random);
        if (random.NextDouble() >= p) return;
        Span<float> offset = stackalloc float[3];
        for (var c = 0; c < 3; c++) offset[c] = (float)((random.NextDouble() - 0.5) * 255 * 2 * ratio);
        for (var i = 0; i < color.Length; i++) color[i] = Clip255(color[i] + offset[i % 3]);
    }

    /// <summary>Concerto's drop colour / drop normal (spec section 3): with probability p, zero all 3 values of
    /// floor(N * ratio) points drawn without replacement. Used as (ratio 1.0, p 0.2) then (ratio 0.2, p 0.5).</summary>
    public static void DropFeature(Span<float> values, Random random, double ratio, double p)
    {
        ArgumentNullException.ThrowIfNull(random);
        if (random.NextDouble() >= p) return;
        var n = values.Length / 3;
        var count = Math.Clamp((int)(n * ratio), 0, n);
        if (count == n)
        {
            values.Clear();
            return;
        }

        var order = new int[n];
        for (var i = 0; i < n; i++) order[i] = i;
        for (var i = 0; i < count; i++)
        {
            var j = i + random.Next(n - i);
            (order[i], order[j]) = (order[j], order[i]);
            values.Slice(3 * order[i], 3).Clear();
        }
    }

    // ---- geometry ----

    /// <summary>Moves the bounding box's xy centre and its lowest z to the origin (the reference CenterShift with
    /// apply_z): the view sits on z = 0, centred in the plane.</summary>
    public static void CenterShift(Span<float> coord)
    {
        if (coord.Length == 0) return;
        Bounds(coord, out var min, out var max);
        float sx = (min.X + max.X) / 2, sy = (min.Y + max.Y) / 2, sz = min.Z;
        for (var i = 0; i < coord.Length; i += 3)
        {
            coord[i] -= sx;
            coord[i + 1] -= sy;
            coord[i + 2] -= sz;
        }
    }

    /// <summary>Multiplies every coordinate by one factor s ~ U(min, max) (isotropic, about the origin; normals unchanged)
    /// and returns s. Spec: [0.9, 1.1].</summary>
    public static double RandomScale(Span<float> coord, Random random, double min, double max)
    {
        ArgumentNullException.ThrowIfNull(random);
        var s = Uniform(random, min, max);
        for (var i = 0; i < coord.Length; i++) coord[i] = (float)(coord[i] * s);
        return s;
    }

    /// <summary>With probability p, rotates by an angle ~ U(-maxAngle, maxAngle) about <paramref name="axis"/> and
    /// returns the angle (0 when skipped). Spec: z +-pi (p 0.8) about the origin (the view is centre-shifted first);
    /// x and y +-pi/64 (p 0.8 each) about the bounding-box centre, as the reference does.</summary>
    public static double RandomRotate(Span<float> coord, Span<float> normal, Random random, RotationAxis axis, double maxAngle, double p, bool aboutBoxCentre)
    {
        ArgumentNullException.ThrowIfNull(random);
        if (random.NextDouble() >= p) return 0;
        var angle = Uniform(random, -maxAngle, maxAngle);
        Rotate(coord, normal, axis, angle, aboutBoxCentre);
        return angle;
    }

    /// <summary>Right-handed rotation by <paramref name="angle"/> radians about <paramref name="axis"/>, through the
    /// origin or the bounding-box centre; normals rotate by the same matrix.</summary>
    public static void Rotate(Span<float> coord, Span<float> normal, RotationAxis axis, double angle, bool aboutBoxCentre)
    {
        double c = Math.Cos(angle), s = Math.Sin(angle);
        double cx = 0, cy = 0, cz = 0;
        if (aboutBoxCentre && coord.Length > 0)
        {
            Bounds(coord, out var min, out var max);
            (cx, cy, cz) = ((min.X + max.X) / 2.0, (min.Y + max.Y) / 2.0, (min.Z + max.Z) / 2.0);
        }

        RotateRows(coord, axis, c, s, cx, cy, cz);
        RotateRows(normal, axis, c, s, 0, 0, 0);
    }

    /// <summary>Independently for x then y, with probability p each, negates that axis of coordinates and normals.
    /// Spec: p 0.5.</summary>
    public static void RandomFlip(Span<float> coord, Span<float> normal, Random random, double p)
    {
        ArgumentNullException.ThrowIfNull(random);
        for (var axis = 0; axis < 2; axis++)
        {
            if (random.NextDouble() >= p) continue;
            for (var i = axis; i < coord.Length; i += 3) coord[i] = -coord[i];
            for (var i = axis; i < normal.Length; i += 3) normal[i] = -normal[i];
        }
    }

    /// <summary>Adds clip(N(0, sigma^2), -clip, clip) to every coordinate value. Spec: sigma 0.005, clip 0.02.</summary>
    public static void Jitter(Span<float> coord, Random random, double sigma, double clip)
    {
        ArgumentNullException.ThrowIfNull(random);
        for (var i = 0; i < coord.Length; i += 2)
        {
            var (a, b) = Gaussians(random);
            coord[i] += (float)Math.Clamp(sigma * a, -clip, clip);
            if (i + 1 < coord.Length) coord[i + 1] += (float)Math.Clamp(sigma * b, -clip, clip);
        }
    }

    /// <summary>Elastic distortion at one scale: standard normal 3-vectors on a lattice of spacing
    /// <paramref name="granularity"/> covering the points with one cell of margin (floor(extent / g) + 3 nodes per axis,
    /// node i at min + (i - 1) g), smoothed twice by a 3-tap box filter along x, y and z in turn (zero beyond the
    /// lattice), trilinearly interpolated at each point and added times <paramref name="magnitude"/>. Nearby points
    /// move alike; the displacement never exceeds magnitude times the largest lattice sample. Spec pairs
    /// (granularity, magnitude): (0.2, 0.4) then (0.8, 1.6).</summary>
    public static void ElasticDistortion(Span<float> coord, Random random, double granularity, double magnitude)
    {
        ArgumentNullException.ThrowIfNull(random);
        if (!(granularity > 0)) throw new ArgumentOutOfRangeException(nameof(granularity), granularity, "must be positive");
        if (coord.Length == 0) return;
        Bounds(coord, out var min, out var max);
        var nx = Nodes(max.X - min.X, granularity);
        var ny = Nodes(max.Y - min.Y, granularity);
        var nz = Nodes(max.Z - min.Z, granularity);
        var cells = (long)nx * ny * nz * 3;
        if (cells > 1L << 27)
            throw new ArgumentException($"an elastic lattice of {nx} x {ny} x {nz} nodes (granularity {granularity}) is too large; the view spans more than the augmentation expects");

        var noise = new float[cells];
        for (var i = 0; i < noise.Length; i += 2)
        {
            var (a, b) = Gaussians(random);
            noise[i] = (float)a;
            if (i + 1 < noise.Length) noise[i + 1] = (float)b;
        }

        var scratch = new float[cells];
        for (var pass = 0; pass < 2; pass++)
        {
            for (var axis = 0; axis < 3; axis++)
            {
                BoxBlur(noise, scratch, nx, ny, nz, axis);
                (noise, scratch) = (scratch, noise);
            }
        }

        int sy = nz * 3, sx = ny * nz * 3;
        for (var i = 0; i < coord.Length; i += 3)
        {
            var (ix, fx) = Cell((coord[i] - min.X) / granularity + 1, nx);
            var (iy, fy) = Cell((coord[i + 1] - min.Y) / granularity + 1, ny);
            var (iz, fz) = Cell((coord[i + 2] - min.Z) / granularity + 1, nz);
            var origin = ix * sx + iy * sy + iz * 3;
            for (var c = 0; c < 3; c++)
            {
                var o = origin + c;
                var v00 = noise[o] * (1 - fz) + noise[o + 3] * fz;
                var v01 = noise[o + sy] * (1 - fz) + noise[o + sy + 3] * fz;
                var v10 = noise[o + sx] * (1 - fz) + noise[o + sx + 3] * fz;
                var v11 = noise[o + sx + sy] * (1 - fz) + noise[o + sx + sy + 3] * fz;
                var v0 = v00 * (1 - fy) + v01 * fy;
                var v1 = v10 * (1 - fy) + v11 * fy;
                coord[i + c] += (float)((v0 * (1 - fx) + v1 * fx) * magnitude);
            }
        }
    }

    /// <summary>Two independent standard normal draws (Box-Muller).</summary>
    public static (double A, double B) Gaussians(Random random)
    {
        ArgumentNullException.ThrowIfNull(random);
        var u1 = 1.0 - random.NextDouble(); // (0, 1]: the log stays finite
        var u2 = random.NextDouble();
        var radius = Math.Sqrt(-2.0 * Math.Log(u1));
        var theta = 2.0 * Math.PI * u2;
        return (radius * Math.Cos(theta), radius * Math.Sin(theta));
    }

    private static double Uniform(Random random, double min, double max) => min + (max - min) * random.NextDouble();

    private static float Clip255(float v) => Math.Clamp(v, 0f, 255f);

    private static float Gray(ReadOnlySpan<float> color, int i) => GrayR * color[3 * i] + GrayG * color[3 * i + 1] + GrayB * color[3 * i + 2];

    private static void Bounds(ReadOnlySpan<float> coord, out (float X, float Y, float Z) min, out (float X, float Y, float Z) max)
    {
        min = (float.PositiveInfinity, float.PositiveInfinity, float.PositiveInfinity);
        max = (float.NegativeInfinity, float.NegativeInfinity, float.NegativeInfinity);
        for (var i = 0; i < coord.Length; i += 3)
        {
            min = (MathF.Min(min.X, coord[i]), MathF.Min(min.Y, coord[i + 1]), MathF.Min(min.Z, coord[i + 2]));
            max = (MathF.Max(max.X, coord[i]), MathF.Max(max.Y, coord[i + 1]), MathF.Max(max.Z, coord[i + 2]));
        }
    }

    private static void RotateRows(Span<float> rows, RotationAxis axis, double c, double s, double cx, double cy, double cz)
    {
        for (var i = 0; i < rows.Length; i += 3)
        {
            double x = rows[i] - cx, y = rows[i + 1] - cy, z = rows[i + 2] - cz;
            (x, y, z) = axis switch
            {
                RotationAxis.X => (x, c * y - s * z, s * y + c * z),
                RotationAxis.Y => (c * x + s * z, y, -s * x + c * z),
                _ => (c * x - s * y, s * x + c * y, z),
            };
            rows[i] = (float)(x + cx);
            rows[i + 1] = (float)(y + cy);
            rows[i + 2] = (float)(z + cz);
        }
    }

    private static int Nodes(float extent, double granularity) => (int)Math.Floor(extent / granularity) + 3;

    /// <summary>Lower lattice node and fraction for a position in node units, kept inside the lattice.</summary>
    private static (int Index, double Fraction) Cell(double t, int nodes)
    {
        var i = Math.Clamp((int)Math.Floor(t), 0, nodes - 2);
        return (i, Math.Clamp(t - i, 0, 1));
    }

    /// <summary>dst = 3-tap mean of src along one axis of an nx x ny x nz x 3 lattice, zero outside.</summary>
    private static void BoxBlur(float[] src, float[] dst, int nx, int ny, int nz, int axis)
    {
        int sy = nz * 3, sx = ny * nz * 3;
        var stride = axis switch { 0 => sx, 1 => sy, _ => 3 };
        var length = axis switch { 0 => nx, 1 => ny, _ => nz };
        for (var x = 0; x < nx; x++)
        for (var y = 0; y < ny; y++)
        for (var z = 0; z < nz; z++)
        {
            var position = axis switch { 0 => x, 1 => y, _ => z };
            var o = x * sx + y * sy + z * 3;
            for (var c = 0; c < 3; c++)
            {
                var sum = src[o + c];
                if (position > 0) sum += src[o + c - stride];
                if (position < length - 1) sum += src[o + c + stride];
                dst[o + c] = sum / 3f;
            }
        }
    }
}
