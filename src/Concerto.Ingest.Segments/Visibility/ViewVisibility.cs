using Concerto.Ingest.Core.Geometry;
using Concerto.Ingest.Segments.Scenes;

namespace Concerto.Ingest.Segments.Visibility;

/// <summary>How the depth test treats a sparse cloud.</summary>
/// <param name="PointSpacing">Distance between neighbouring cloud points (the fusion voxel in scene units): each point
/// covers a square of about that size in the depth buffer, so the surface behind it cannot show through the gaps.</param>
/// <param name="DepthTolerance">A point is visible when its depth is at most the buffer's depth there plus this many
/// point spacings (neighbours on the same, slanted surface are not occluders).</param>
/// <param name="RelativeTolerance">Plus this fraction of the depth.</param>
/// <param name="MaxSplatRadius">Largest square half-size in pixels (very near points).</param>
public sealed record VisibilitySettings(double PointSpacing, double DepthTolerance = 1.5, double RelativeTolerance = 0.01, int MaxSplatRadius = 8)
{
    public void Validate()
    {
        if (!(PointSpacing > 0)) throw new ArgumentOutOfRangeException(nameof(PointSpacing), PointSpacing, "point spacing must be > 0");
        if (DepthTolerance < 0 || RelativeTolerance < 0) throw new ArgumentOutOfRangeException(nameof(DepthTolerance), "tolerances must be >= 0");
        if (MaxSplatRadius < 0) throw new ArgumentOutOfRangeException(nameof(MaxSplatRadius), MaxSplatRadius, "must be >= 0");
    }
}

/// <summary>The cloud points one keyframe sees, depth-tested, with their exact projections (pixel-centre convention:
/// integer coordinates are pixel centres). <see cref="Points"/> is ascending.</summary>
public sealed record ViewVisibility(int[] Points, float[] U, float[] V, float[] Depth)
{
    public int Count => Points.Length;

    /// <summary>Projects every point into the view, builds a depth buffer in which each point covers a square sized by
    /// its projected spacing, and keeps the points at most a tolerance behind the buffer at their own pixel.</summary>
    public static ViewVisibility Compute(SceneCloud cloud, SceneView view, VisibilitySettings settings)
    {
        ArgumentNullException.ThrowIfNull(cloud);
        ArgumentNullException.ThrowIfNull(view);
        ArgumentNullException.ThrowIfNull(settings);
        settings.Validate();
        var k = view.Intrinsics;
        int w = k.Width, h = k.Height, n = cloud.Count;
        var toCamera = view.CameraToWorld.Inverse();
        var r = toCamera.R;
        var t = toCamera.T;

        // Pass 1: project; splat the nearest depth per pixel.
        var pixel = new int[n];
        var u = new float[n];
        var v = new float[n];
        var z = new float[n];
        var buffer = new float[w * h];
        Array.Fill(buffer, float.PositiveInfinity);
        // Half-size = one point spacing in pixels: neighbouring points' squares overlap even where a voxel's point sits
        // at its far corner.
        var spread = Math.Max(k.Fx, k.Fy) * settings.PointSpacing;
        var coord = cloud.Coord;
        for (var i = 0; i < n; i++)
        {
            pixel[i] = -1;
            double x = coord[3 * i], y = coord[3 * i + 1], zz = coord[3 * i + 2];
            var zc = r[6] * x + r[7] * y + r[8] * zz + t.Z;
            if (!(zc > 1e-6)) continue;
            var xc = r[0] * x + r[1] * y + r[2] * zz + t.X;
            var yc = r[3] * x + r[4] * y + r[5] * zz + t.Y;
            var pu = k.Fx * xc / zc + k.Cx;
            var pv = k.Fy * yc / zc + k.Cy;
            var radius = Math.Min(settings.MaxSplatRadius, (int)Math.Ceiling(spread / zc));
            // A point just outside the image still splats into it: its square is what hides the border pixels.
            if (!(pu > -0.5 - radius && pu < w - 0.5 + radius && pv > -0.5 - radius && pv < h - 0.5 + radius)) continue;
            var iu = (int)Math.Round(pu);
            var iv = (int)Math.Round(pv);
            if (iu >= 0 && iv >= 0 && iu < w && iv < h)
            {
                pixel[i] = iv * w + iu;
                (u[i], v[i], z[i]) = ((float)pu, (float)pv, (float)zc);
            }

            var depth = (float)zc;
            for (int y0 = Math.Max(0, iv - radius), y1 = Math.Min(h - 1, iv + radius), yy = y0; yy <= y1; yy++)
            for (int x0 = Math.Max(0, iu - radius), x1 = Math.Min(w - 1, iu + radius), xx = x0; xx <= x1; xx++)
            {
                var p = yy * w + xx;
                if (depth < buffer[p]) buffer[p] = depth;
            }
        }

        // Pass 2: a point survives when nothing sits clearly in front of it at its own pixel.
        var kept = new List<int>();
        for (var i = 0; i < n; i++)
        {
            if (pixel[i] < 0) continue;
            var tolerance = settings.DepthTolerance * settings.PointSpacing + settings.RelativeTolerance * z[i];
            if (z[i] <= buffer[pixel[i]] + tolerance) kept.Add(i);
        }

        var points = kept.ToArray();
        return new ViewVisibility(points, points.Select(i => u[i]).ToArray(), points.Select(i => v[i]).ToArray(), points.Select(i => z[i]).ToArray());
    }
}
