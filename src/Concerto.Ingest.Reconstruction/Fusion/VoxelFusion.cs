using Concerto.Ingest.Core.Geometry;

namespace Concerto.Ingest.Reconstruction.Fusion;

/// <summary>Voxel size in world units (VGGT worlds are unit-scale, so about 0.005-0.02).</summary>
public sealed record VoxelFusionSettings(double VoxelSize = 0.01)
{
    public void Validate()
    {
        if (!(VoxelSize > 0 && double.IsFinite(VoxelSize))) throw new ArgumentOutOfRangeException(nameof(VoxelSize), VoxelSize, "voxel size must be positive");
    }
}

/// <summary>Unprojects frames (or takes their point maps) into a sparse voxel grid and averages position, colour and view direction per voxel.
/// Add frames in a fixed order: the output order is the order voxels were first touched, so it is deterministic.</summary>
public sealed class VoxelFusion
{
    private readonly double _voxel;
    private readonly double _inverse;
    private readonly VoxelKeyMap _map;
    private long[] _keys;
    private float[] _offset;  // sum of (point - voxel corner): small numbers, so float sums stay exact enough
    private float[] _view;
    private int[] _colour;
    private int[] _n;

    public VoxelFusion(VoxelFusionSettings settings, int expectedVoxels = 1 << 16)
    {
        ArgumentNullException.ThrowIfNull(settings);
        settings.Validate();
        _voxel = settings.VoxelSize;
        _inverse = 1 / settings.VoxelSize;
        var capacity = Math.Max(16, expectedVoxels);
        _map = new VoxelKeyMap(capacity);
        _keys = new long[capacity];
        _offset = new float[3 * capacity];
        _view = new float[3 * capacity];
        _colour = new int[3 * capacity];
        _n = new int[capacity];
    }

    public int VoxelCount => _map.Count;

    /// <summary>Points fused so far.</summary>
    public long PointsAdded { get; private set; }

    /// <summary>Points skipped because their voxel coordinates exceed the 21-bit range (|coord / voxel| &gt;= 2^20).</summary>
    public long PointsOutOfRange { get; private set; }

    /// <summary>Fuses the frame's valid pixels (those set in <paramref name="keep"/> when given) and returns how many
    /// points it added.</summary>
    public int Add(DepthFrame frame, bool[]? keep = null)
    {
        ArgumentNullException.ThrowIfNull(frame);
        if (keep is not null && keep.Length != frame.Depth.Length)
            throw new ArgumentException($"keep has {keep.Length} entries, expected {frame.Depth.Length}", nameof(keep));
        var k = frame.Intrinsics;
        double fx = 1 / k.Fx, fy = 1 / k.Fy, cx = k.Cx, cy = k.Cy;
        var r = frame.CameraToWorld.R;
        double r0 = r[0], r1 = r[1], r2 = r[2], r3 = r[3], r4 = r[4], r5 = r[5], r6 = r[6], r7 = r[7], r8 = r[8];
        var c = frame.CameraToWorld.T;
        var depth = frame.Depth;
        var points = frame.WorldPoints;
        var rgb = frame.Rgb;
        var added = 0;
        for (var v = 0; v < frame.Height; v++)
        {
            var yRay = (v - cy) * fy;
            for (int u = 0, i = v * frame.Width; u < frame.Width; u++, i++)
            {
                var d = depth[i];
                if (!DepthFrame.IsValidDepth(d) || (keep is not null && !keep[i])) continue;
                double x, y, z;
                if (points is null)
                {
                    double xc = (u - cx) * fx * d, yc = yRay * d, zc = d;
                    (x, y, z) = (r0 * xc + r1 * yc + r2 * zc + c.X, r3 * xc + r4 * yc + r5 * zc + c.Y, r6 * xc + r7 * yc + r8 * zc + c.Z);
                }
                else
                {
                    (x, y, z) = (points[3 * i], points[3 * i + 1], points[3 * i + 2]);
                    if (!double.IsFinite(x + y + z)) continue;
                }

                long ix = (long)Math.Floor(x * _inverse), iy = (long)Math.Floor(y * _inverse), iz = (long)Math.Floor(z * _inverse);
                if (!VoxelKey.InRange(ix, iy, iz)) { PointsOutOfRange++; continue; }
                var slot = _map.GetOrAdd(VoxelKey.Pack(ix, iy, iz), out var isNew);
                if (isNew) Append(slot, VoxelKey.Pack(ix, iy, iz));
                var s3 = 3 * slot;
                _offset[s3] += (float)(x - ix * _voxel);
                _offset[s3 + 1] += (float)(y - iy * _voxel);
                _offset[s3 + 2] += (float)(z - iz * _voxel);
                double vx = c.X - x, vy = c.Y - y, vz = c.Z - z, inv = 1 / Math.Sqrt(vx * vx + vy * vy + vz * vz);
                _view[s3] += (float)(vx * inv);
                _view[s3 + 1] += (float)(vy * inv);
                _view[s3 + 2] += (float)(vz * inv);
                _colour[s3] += rgb[3 * i];
                _colour[s3 + 1] += rgb[3 * i + 1];
                _colour[s3 + 2] += rgb[3 * i + 2];
                _n[slot]++;
                added++;
            }
        }

        PointsAdded += added;
        return added;
    }

    /// <summary>One point per voxel: mean position, rounded mean colour, unit mean view direction; normals zero.</summary>
    public FusedCloud ToCloud()
    {
        var count = _map.Count;
        var cloud = new FusedCloud(count);
        var (coord, color, view) = (cloud.Coord, cloud.Color, cloud.ViewDirection);
        for (var j = 0; j < count; j++)
        {
            var n = _n[j];
            var (ix, iy, iz) = VoxelKey.Unpack(_keys[j]);
            var j3 = 3 * j;
            coord[j3] = (float)(ix * _voxel + (double)_offset[j3] / n);
            coord[j3 + 1] = (float)(iy * _voxel + (double)_offset[j3 + 1] / n);
            coord[j3 + 2] = (float)(iz * _voxel + (double)_offset[j3 + 2] / n);
            for (var a = 0; a < 3; a++) color[j3 + a] = (byte)((_colour[j3 + a] + n / 2) / n);
            var length = Math.Sqrt((double)_view[j3] * _view[j3] + (double)_view[j3 + 1] * _view[j3 + 1] + (double)_view[j3 + 2] * _view[j3 + 2]);
            if (length > 1e-12)
                for (var a = 0; a < 3; a++) view[j3 + a] = (float)(_view[j3 + a] / length);
        }

        return cloud;
    }

    private void Append(int slot, long key)
    {
        if (slot == _n.Length)
        {
            var capacity = 2 * _n.Length;
            Array.Resize(ref _keys, capacity);
            Array.Resize(ref _offset, 3 * capacity);
            Array.Resize(ref _view, 3 * capacity);
            Array.Resize(ref _colour, 3 * capacity);
            Array.Resize(ref _n, capacity);
        }

        _keys[slot] = key;
    }
}
