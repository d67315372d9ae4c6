using System.Diagnostics.CodeAnalysis;
using Concerto.Ingest.Core.Geometry;

namespace Concerto.Ingest.Reconstruction.Fusion;

/// <summary>Floor search after Concerto: RANSAC on the lowest <see cref="LowestFraction"/> of points along the up guess,
/// planes tilted at most <see cref="MaxTiltDegrees"/> from it, up to <see cref="MaxTrials"/> seeded trials of
/// <see cref="IterationsPerTrial"/> samples; a trial wins when its best plane holds at least
/// <see cref="MinInlierFraction"/> of the candidates.
/// <para><see cref="ThresholdFraction"/> multiplies the scene extent (largest bounding-box side). Concerto's 0.01 is in
/// normalised units (z-range 3), but levelling runs before scaling and the height is not known until the floor is; the
/// largest side is rotation-tolerant and a room's is 1-3 times its height, so 0.01 x extent is 1-3x Concerto's band,
/// slightly looser, which suits VGGT depth noise.</para></summary>
public sealed record GravityAlignmentSettings(
    double LowestFraction = 0.2,
    double ThresholdFraction = 0.01,
    double MaxTiltDegrees = 40,
    int MaxTrials = 6,
    int IterationsPerTrial = 200,
    double MinInlierFraction = 0.3,
    int Seed = 17,
    int MaxScoringPoints = 50_000)
{
    public void Validate()
    {
        if (!(LowestFraction > 0 && LowestFraction <= 1)) throw new ArgumentOutOfRangeException(nameof(LowestFraction), LowestFraction, "must be in (0, 1]");
        if (!(ThresholdFraction > 0)) throw new ArgumentOutOfRangeException(nameof(ThresholdFraction), ThresholdFraction, "must be positive");
        if (!(MaxTiltDegrees > 0 && MaxTiltDegrees < 90)) throw new ArgumentOutOfRangeException(nameof(MaxTiltDegrees), MaxTiltDegrees, "must be in (0, 90)");
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(MaxTrials);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(IterationsPerTrial);
        if (!(MinInlierFraction > 0 && MinInlierFraction <= 1)) throw new ArgumentOutOfRangeException(nameof(MinInlierFraction), MinInlierFraction, "must be in (0, 1]");
        ArgumentOutOfRangeException.ThrowIfLessThan(MaxScoringPoints, 3);
    }
}

/// <summary>The floor plane dot(Normal, p) = Offset (Normal unit, pointing up), fitted by least squares on
/// <see cref="Inliers"/> points; <see cref="Trial"/> is the zero-based trial that found it.</summary>
public sealed record FloorPlane(V3 Normal, double Offset, int Inliers, double TiltDegrees, int Trial);

/// <summary>Either a floor with the transform that levels it (normal to +z, floor at z = 0), or the reason there is none.</summary>
public sealed record GravityAlignmentResult(RigidTransform? Transform, FloorPlane? Floor, double Extent, double Threshold, string? Failure)
{
    [MemberNotNullWhen(true, nameof(Transform), nameof(Floor))]
    [MemberNotNullWhen(false, nameof(Failure))]
    public bool Found => Transform is not null && Floor is not null && Failure is null;
}

public static class GravityAlignment
{
    /// <summary>The up guess for a world whose axes are an OpenCV camera's (VGGT: world = first camera): minus its y axis.</summary>
    public static V3 UpFromOpenCvCamera(RigidTransform cameraToWorld)
    {
        ArgumentNullException.ThrowIfNull(cameraToWorld);
        var r = cameraToWorld.R;
        return new V3(-r[1], -r[4], -r[7]);
    }

    public static GravityAlignmentResult FindFloor(FusedCloud cloud, V3 upGuess, GravityAlignmentSettings settings)
    {
        ArgumentNullException.ThrowIfNull(cloud);
        return FindFloor(cloud.Coord, upGuess, settings);
    }

    /// <summary>Finds the floor in <paramref name="coord"/> (N x 3). Deterministic for a given seed.</summary>
    public static GravityAlignmentResult FindFloor(float[] coord, V3 upGuess, GravityAlignmentSettings settings)
    {
        ArgumentNullException.ThrowIfNull(coord);
        ArgumentNullException.ThrowIfNull(settings);
        settings.Validate();
        if (!(upGuess.Length > 0)) throw new ArgumentException("the up guess must be a non-zero vector", nameof(upGuess));
        var up = upGuess.Normalized;
        var n = coord.Length / 3;
        if (n < 3) return new(null, null, 0, 0, $"the cloud has {n} points, a floor needs at least 3");

        var (lo, hi) = (new V3(double.MaxValue, double.MaxValue, double.MaxValue), new V3(double.MinValue, double.MinValue, double.MinValue));
        var heights = new float[n];
        for (var i = 0; i < n; i++)
        {
            var p = Point(coord, i);
            lo = new V3(Math.Min(lo.X, p.X), Math.Min(lo.Y, p.Y), Math.Min(lo.Z, p.Z));
            hi = V3.Max(hi, p);
            heights[i] = (float)p.Dot(up);
        }

        var extent = (hi - lo).MaxComponent;
        var threshold = settings.ThresholdFraction * extent;
        if (!(extent > 0)) return new(null, null, extent, threshold, "the cloud has zero extent");

        // Candidates: the lowest fraction along the up guess; score on an evenly strided subset of them.
        var sorted = (float[])heights.Clone();
        Array.Sort(sorted);
        var cutoff = sorted[(int)(settings.LowestFraction * (n - 1))];
        var candidates = new List<int>();
        for (var i = 0; i < n; i++)
            if (heights[i] <= cutoff) candidates.Add(i);
        var scoring = new V3[Math.Min(candidates.Count, settings.MaxScoringPoints)];
        for (var j = 0; j < scoring.Length; j++) scoring[j] = Point(coord, candidates[(int)((long)j * candidates.Count / scoring.Length)]);
        if (scoring.Length < 3) return new(null, null, extent, threshold, "fewer than 3 candidate floor points");

        var cosMaxTilt = Math.Cos(settings.MaxTiltDegrees * Math.PI / 180);
        var needed = (int)Math.Ceiling(settings.MinInlierFraction * scoring.Length);
        var bestSeen = 0;
        for (var trial = 0; trial < settings.MaxTrials; trial++)
        {
            var rng = new Random(settings.Seed + trial);
            var (bestNormal, bestOffset, bestCount) = (V3.Zero, 0.0, 0);
            for (var it = 0; it < settings.IterationsPerTrial; it++)
            {
                var a = scoring[rng.Next(scoring.Length)];
                var b = scoring[rng.Next(scoring.Length)];
                var c = scoring[rng.Next(scoring.Length)];
                var normal = (b - a).Cross(c - a);
                var length = normal.Length;
                if (!(length > 1e-12 * extent * extent)) continue;
                normal /= length;
                if (normal.Dot(up) < 0) normal = -normal;
                if (normal.Dot(up) < cosMaxTilt) continue;
                var offset = normal.Dot(a);
                var count = CountInliers(scoring, normal, offset, threshold);
                if (count > bestCount) (bestNormal, bestOffset, bestCount) = (normal, offset, count);
            }

            bestSeen = Math.Max(bestSeen, bestCount);
            if (bestCount < needed) continue;
            var floor = Refine(coord, bestNormal, bestOffset, threshold, up);
            if (floor is null) continue;
            var (fitNormal, fitOffset, inliers) = floor.Value;
            var tilt = Math.Acos(Math.Clamp(fitNormal.Dot(up), -1, 1)) * 180 / Math.PI;
            if (tilt > settings.MaxTiltDegrees) continue;
            var rotation = RotationTo(fitNormal, V3.UnitZ);
            return new(new RigidTransform(rotation, new V3(0, 0, -fitOffset)), new FloorPlane(fitNormal, fitOffset, inliers, tilt, trial),
                extent, threshold, null);
        }

        return new(null, null, extent, threshold,
            $"no floor: no plane within {settings.MaxTiltDegrees} deg of the up guess held {settings.MinInlierFraction:P0} of the lowest " +
            $"{settings.LowestFraction:P0} of points within {threshold:G3} (best {bestSeen} of {scoring.Length}) in {settings.MaxTrials} trials");
    }

    private static V3 Point(float[] coord, int i) => new(coord[3 * i], coord[3 * i + 1], coord[3 * i + 2]);

    private static int CountInliers(V3[] points, V3 normal, double offset, double threshold)
    {
        var count = 0;
        foreach (var p in points)
            if (Math.Abs(normal.Dot(p) - offset) < threshold) count++;
        return count;
    }

    /// <summary>Least-squares plane (PCA) through all points within the threshold of the RANSAC plane, twice, so the fit
    /// also uses floor beyond the lowest band.</summary>
    private static (V3 Normal, double Offset, int Inliers)? Refine(float[] coord, V3 normal, double offset, double threshold, V3 up)
    {
        var n = coord.Length / 3;
        var inliers = 0;
        for (var pass = 0; pass < 2; pass++)
        {
            var (sum, count) = (V3.Zero, 0);
            for (var i = 0; i < n; i++)
            {
                var p = Point(coord, i);
                if (Math.Abs(normal.Dot(p) - offset) < threshold) { sum += p; count++; }
            }

            if (count < 3) return null;
            var mean = sum / count;
            double xx = 0, xy = 0, xz = 0, yy = 0, yz = 0, zz = 0;
            for (var i = 0; i < n; i++)
            {
                var p = Point(coord, i);
                if (!(Math.Abs(normal.Dot(p) - offset) < threshold)) continue;
                var d = p - mean;
                xx += d.X * d.X; xy += d.X * d.Y; xz += d.X * d.Z; yy += d.Y * d.Y; yz += d.Y * d.Z; zz += d.Z * d.Z;
            }

            var fitted = new Mat3(xx, xy, xz, xy, yy, yz, xz, yz, zz).SymmetricEigen().Vectors.Column(0).Normalized;
            normal = fitted.Dot(up) < 0 ? -fitted : fitted;
            offset = normal.Dot(mean);
            inliers = count;
        }

        return (normal, offset, inliers);
    }

    /// <summary>The smallest rotation (row-major) taking unit <paramref name="from"/> to unit <paramref name="to"/>
    /// (Rodrigues about their cross product), so levelling does not add a yaw.</summary>
    public static double[] RotationTo(V3 from, V3 to)
    {
        var axis = from.Cross(to);
        var s = axis.Length;
        var c = from.Dot(to);
        if (s < 1e-15)
        {
            if (c > 0) return [1, 0, 0, 0, 1, 0, 0, 0, 1];
            // Opposite: half turn about any perpendicular axis.
            var p = (Math.Abs(from.X) < 0.9 ? new V3(1, 0, 0) : new V3(0, 1, 0)).Cross(from).Normalized;
            return [2 * p.X * p.X - 1, 2 * p.X * p.Y, 2 * p.X * p.Z, 2 * p.Y * p.X, 2 * p.Y * p.Y - 1, 2 * p.Y * p.Z,
                2 * p.Z * p.X, 2 * p.Z * p.Y, 2 * p.Z * p.Z - 1];
        }

        var k = axis / s;
        var t = 1 - c;
        return
        [
            c + k.X * k.X * t, k.X * k.Y * t - k.Z * s, k.X * k.Z * t + k.Y * s,
            k.Y * k.X * t + k.Z * s, c + k.Y * k.Y * t, k.Y * k.Z * t - k.X * s,
            k.Z * k.X * t - k.Y * s, k.Z * k.Y * t + k.X * s, c + k.Z * k.Z * t,
        ];
    }
}
