using System.Collections.Concurrent;
using Concerto.Ingest.Core.Geometry;

namespace Concerto.Ingest.Reconstruction.Fusion;

/// <summary>PCA normals: neighbours within <see cref="Radius"/> (about 2-3 voxels), at least <see cref="MinNeighbours"/>
/// of them (the point itself included), else the point's view direction is used.</summary>
public sealed record NormalEstimationSettings(double Radius, int MinNeighbours = 6)
{
    public void Validate()
    {
        if (!(Radius > 0 && double.IsFinite(Radius))) throw new ArgumentOutOfRangeException(nameof(Radius), Radius, "radius must be positive");
        if (MinNeighbours < 3) throw new ArgumentOutOfRangeException(nameof(MinNeighbours), MinNeighbours, "a plane needs at least 3 points");
    }
}

public static class NormalEstimation
{
    /// <summary>Fills <see cref="FusedCloud.Normal"/> with unit normals oriented towards the cameras
    /// (dot(normal, viewDirection) &gt;= 0) and returns how many points fell back to their view direction.
    /// Each point is computed independently, so the output does not depend on the thread count.</summary>
    public static int Estimate(FusedCloud cloud, NormalEstimationSettings settings, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(cloud);
        ArgumentNullException.ThrowIfNull(settings);
        settings.Validate();
        var n = cloud.Count;
        if (n == 0) return 0;
        var grid = new CellGrid(cloud.Coord, settings.Radius);
        var (coord, normal, view) = (cloud.Coord, cloud.Normal, cloud.ViewDirection);
        var r2 = settings.Radius * settings.Radius;
        var fallbacks = 0;
        var options = new ParallelOptions { CancellationToken = cancellationToken };
        Parallel.ForEach(Partitioner.Create(0, n, 4096), options, range =>
        {
            var local = 0;
            for (var i = range.Item1; i < range.Item2; i++)
            {
                var i3 = 3 * i;
                var (nx, ny, nz) = (view[i3], view[i3 + 1], view[i3 + 2]);
                if (grid.Covariance(coord[i3], coord[i3 + 1], coord[i3 + 2], r2, out var cov) >= settings.MinNeighbours)
                {
                    var (values, vectors) = cov.SymmetricEigen();
                    // Collinear neighbourhoods (a thin line of voxels) have no defined normal.
                    if (values.Y > 1e-12 * Math.Max(values.Z, 1e-300))
                    {
                        var e = vectors.Column(0);
                        var flip = e.X * nx + e.Y * ny + e.Z * nz < 0 ? -1 : 1;
                        (nx, ny, nz) = ((float)(flip * e.X), (float)(flip * e.Y), (float)(flip * e.Z));
                        normal[i3] = nx;
                        normal[i3 + 1] = ny;
                        normal[i3 + 2] = nz;
                        continue;
                    }
                }

                local++;
                normal[i3] = nx;
                normal[i3 + 1] = ny;
                normal[i3 + 2] = nz;
            }

            Interlocked.Add(ref fallbacks, local);
        });
        return fallbacks;
    }

    /// <summary>Points bucketed into cubic cells of side = radius, sorted by cell so a query scans 27 contiguous runs.</summary>
    private sealed class CellGrid
    {
        private readonly float[] _sorted;  // coordinates in cell order
        private readonly int[] _start;     // cell c holds sorted points [_start[c], _start[c + 1])
        private readonly VoxelKeyMap _cells;
        private readonly double _inverse;
        private readonly double _minX, _minY, _minZ;

        public CellGrid(float[] coord, double cell)
        {
            var n = coord.Length / 3;
            _inverse = 1 / cell;
            (_minX, _minY, _minZ) = (double.MaxValue, double.MaxValue, double.MaxValue);
            for (var i = 0; i < n; i++)
            {
                _minX = Math.Min(_minX, coord[3 * i]);
                _minY = Math.Min(_minY, coord[3 * i + 1]);
                _minZ = Math.Min(_minZ, coord[3 * i + 2]);
            }

            var keys = new long[n];
            var order = new int[n];
            for (var i = 0; i < n; i++)
            {
                var (x, y, z) = CellOf(coord[3 * i], coord[3 * i + 1], coord[3 * i + 2]);
                if (!VoxelKey.InRange(x, y, z))
                    throw new ArgumentException($"the cloud spans more than 2^20 cells of {cell} along an axis: use a larger radius");
                keys[i] = VoxelKey.Pack(x, y, z);
                order[i] = i;
            }

            Array.Sort(keys, order);
            _sorted = new float[3 * n];
            _cells = new VoxelKeyMap(n / 4 + 16);
            var starts = new List<int>();
            for (var j = 0; j < n; j++)
            {
                var o = order[j];
                _sorted[3 * j] = coord[3 * o];
                _sorted[3 * j + 1] = coord[3 * o + 1];
                _sorted[3 * j + 2] = coord[3 * o + 2];
                if (j == 0 || keys[j] != keys[j - 1])
                {
                    _cells.GetOrAdd(keys[j], out _);
                    starts.Add(j);
                }
            }

            starts.Add(n);
            _start = [.. starts];
        }

        private (long X, long Y, long Z) CellOf(double x, double y, double z) =>
            ((long)Math.Floor((x - _minX) * _inverse), (long)Math.Floor((y - _minY) * _inverse), (long)Math.Floor((z - _minZ) * _inverse));

        /// <summary>Covariance of the points within sqrt(r2) of q; returns their count.</summary>
        public int Covariance(double qx, double qy, double qz, double r2, out Mat3 covariance)
        {
            var (cx, cy, cz) = CellOf(qx, qy, qz);
            // Sums of offsets from q (not absolute coordinates) avoid cancellation far from the origin.
            double sx = 0, sy = 0, sz = 0, sxx = 0, sxy = 0, sxz = 0, syy = 0, syz = 0, szz = 0;
            var count = 0;
            for (var dx = -1; dx <= 1; dx++)
            for (var dy = -1; dy <= 1; dy++)
            for (var dz = -1; dz <= 1; dz++)
            {
                if (!VoxelKey.InRange(cx + dx, cy + dy, cz + dz)) continue;
                var c = _cells.Find(VoxelKey.Pack(cx + dx, cy + dy, cz + dz));
                if (c < 0) continue;
                for (int j = _start[c], end = _start[c + 1]; j < end; j++)
                {
                    double x = _sorted[3 * j] - qx, y = _sorted[3 * j + 1] - qy, z = _sorted[3 * j + 2] - qz;
                    if (x * x + y * y + z * z > r2) continue;
                    count++;
                    sx += x; sy += y; sz += z;
                    sxx += x * x; sxy += x * y; sxz += x * z; syy += y * y; syz += y * z; szz += z * z;
                }
            }

            if (count == 0)
            {
                covariance = default;
                return 0;
            }

            var inv = 1.0 / count;
            double mx = sx * inv, my = sy * inv, mz = sz * inv;
            double cxx = sxx * inv - mx * mx, cxy = sxy * inv - mx * my, cxz = sxz * inv - mx * mz;
            double cyy = syy * inv - my * my, cyz = syz * inv - my * mz, czz = szz * inv - mz * mz;
            covariance = new Mat3(cxx, cxy, cxz, cxy, cyy, cyz, cxz, cyz, czz);
            return count;
        }
    }
}
