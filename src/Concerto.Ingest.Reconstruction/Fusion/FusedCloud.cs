using Concerto.Ingest.Core.Geometry;

namespace Concerto.Ingest.Reconstruction.Fusion;

/// <summary>A point cloud as flat arrays (N x 3 each, Pointcept's coord/color/normal layout). <see cref="ViewDirection"/>
/// is the mean unit direction from each point towards the cameras that saw it (zero when unknown); normals are zero
/// until <see cref="NormalEstimation"/> fills them. Mutable on purpose: the later steps work in place on millions of points.</summary>
public sealed class FusedCloud
{
    public FusedCloud(float[] coord, byte[] color, float[] normal, float[] viewDirection)
    {
        ArgumentNullException.ThrowIfNull(coord);
        ArgumentNullException.ThrowIfNull(color);
        ArgumentNullException.ThrowIfNull(normal);
        ArgumentNullException.ThrowIfNull(viewDirection);
        if (coord.Length % 3 != 0) throw new ArgumentException($"coord has {coord.Length} values, not a multiple of 3", nameof(coord));
        if (color.Length != coord.Length || normal.Length != coord.Length || viewDirection.Length != coord.Length)
            throw new ArgumentException($"coord ({coord.Length}), color ({color.Length}), normal ({normal.Length}) and viewDirection " +
                $"({viewDirection.Length}) must have the same length");
        Coord = coord;
        Color = color;
        Normal = normal;
        ViewDirection = viewDirection;
    }

    public FusedCloud(int count)
        : this(new float[3 * count], new byte[3 * count], new float[3 * count], new float[3 * count])
    {
    }

    public int Count => Coord.Length / 3;
    public float[] Coord { get; }
    public byte[] Color { get; }
    public float[] Normal { get; }
    public float[] ViewDirection { get; }

    public V3 Point(int i) => new(Coord[3 * i], Coord[3 * i + 1], Coord[3 * i + 2]);
}
