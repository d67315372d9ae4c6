using Concerto.Ingest.Core.Geometry;
using Concerto.Ingest.Reconstruction.Alignment;

namespace Concerto.Ingest.Reconstruction.Evaluation;

public sealed record CameraAlignment(Sim3 EstimatedToTruth, double RmsPositionError, double MaxPositionError);

public sealed record ChamferDistance(double Accuracy, double Completeness)
{
    /// <summary>Mean of the two directions.</summary>
    public double Symmetric => (Accuracy + Completeness) / 2;
}

/// <summary>How close a reconstruction is to the truth: cameras aligned by a similarity (reconstructions have their
/// own frame and scale), then distances in the truth's units.</summary>
public static class ReconstructionEvaluation
{
    /// <summary>Umeyama on camera centres, then the position error of each camera after that alignment.</summary>
    public static CameraAlignment AlignCameras(IReadOnlyList<V3> estimated, IReadOnlyList<V3> truth)
    {
        ArgumentNullException.ThrowIfNull(estimated);
        ArgumentNullException.ThrowIfNull(truth);
        var sim = WeightedUmeyama.Estimate(estimated, truth);
        var errors = estimated.Select((p, i) => (sim.Apply(p) - truth[i]).Length).ToList();
        return new CameraAlignment(sim, Math.Sqrt(errors.Average(e => e * e)), errors.Max());
    }

    /// <summary>Truncated Chamfer distance between point sets (N x 3 arrays): accuracy = mean distance from each
    /// estimated point to the nearest true point, completeness = the reverse; each distance capped at
    /// <paramref name="maxDistance"/> (surfaces never seen would otherwise dominate completeness).</summary>
    public static ChamferDistance Chamfer(float[] estimated, float[] truth, double maxDistance)
    {
        ArgumentNullException.ThrowIfNull(estimated);
        ArgumentNullException.ThrowIfNull(truth);
        var cell = maxDistance / 2;
        return new(MeanNearest(estimated, new NearestGrid(truth, cell), maxDistance), MeanNearest(truth, new NearestGrid(estimated, cell), maxDistance));
    }

    private static double MeanNearest(float[] query, NearestGrid grid, double maxDistance)
    {
        var n = query.Length / 3;
        var sums = new double[Environment.ProcessorCount];
        Parallel.For(0, sums.Length, part =>
        {
            for (var i = part; i < n; i += sums.Length)
                sums[part] += Math.Min(maxDistance, grid.Nearest(query[3 * i], query[3 * i + 1], query[3 * i + 2], maxDistance));
        });
        return sums.Sum() / n;
    }

    /// <summary>Points bucketed in a uniform grid; nearest-point search in growing shells of cells.</summary>
    private sealed class NearestGrid
    {
        private readonly float[] _points;
        private readonly double _cell;
        private readonly Dictionary<(int, int, int), List<int>> _cells = [];

        public NearestGrid(float[] points, double cell)
        {
            _points = points;
            _cell = cell;
            for (var i = 0; i < points.Length / 3; i++)
            {
                var key = Key(points[3 * i], points[3 * i + 1], points[3 * i + 2]);
                if (!_cells.TryGetValue(key, out var list)) _cells[key] = list = [];
                list.Add(i);
            }
        }

        private (int, int, int) Key(double x, double y, double z) =>
            ((int)Math.Floor(x / _cell), (int)Math.Floor(y / _cell), (int)Math.Floor(z / _cell));

        /// <summary>Distance to the nearest point, or infinity when none is within <paramref name="limit"/>.</summary>
        public double Nearest(double x, double y, double z, double limit)
        {
            var (cx, cy, cz) = Key(x, y, z);
            var best = double.PositiveInfinity; // squared
            // Shells beyond the limit (or beyond the grid) cannot hold a wanted point.
            var lastRing = _cells.Count == 0 ? -1 : (int)Math.Ceiling(limit / _cell);
            for (var ring = 0; ring <= lastRing; ring++)
            {
                for (var dx = -ring; dx <= ring; dx++)
                for (var dy = -ring; dy <= ring; dy++)
                for (var dz = -ring; dz <= ring; dz++)
                {
                    if (Math.Max(Math.Abs(dx), Math.Max(Math.Abs(dy), Math.Abs(dz))) != ring) continue; // this shell only
                    if (!_cells.TryGetValue((cx + dx, cy + dy, cz + dz), out var list)) continue;
                    foreach (var j in list)
                    {
                        double ex = _points[3 * j] - x, ey = _points[3 * j + 1] - y, ez = _points[3 * j + 2] - z;
                        best = Math.Min(best, ex * ex + ey * ey + ez * ez);
                    }
                }

                // Points not yet seen lie in shells beyond this one, at least ring cells away.
                if (best <= ring * _cell * ring * _cell) break;
            }

            return Math.Sqrt(best);
        }
    }
}
