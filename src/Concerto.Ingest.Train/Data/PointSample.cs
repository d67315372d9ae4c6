using Concerto.Ingest.Core.Profiles;

namespace Concerto.Ingest.Train.Data;

/// <summary>One training sample on the CPU: a point cloud (one segment) and its images, as read from a dataset version
/// and as transformed by views and augmentations. Arrays are row-major: <see cref="Coord"/>, <see cref="Color"/> and
/// <see cref="Normal"/> hold 3 values per point.</summary>
public sealed class PointSample
{
    /// <summary>The segment's key in its dataset version (for logs and errors).</summary>
    public required string Key { get; init; }

    /// <summary>Point positions, z-up, scene units (N x 3).</summary>
    public required float[] Coord { get; init; }

    /// <summary>Colours in [0, 255] as floats, so colour augmentations need no conversions (N x 3).</summary>
    public required float[] Color { get; init; }

    /// <summary>Unit normals (N x 3).</summary>
    public required float[] Normal { get; init; }

    /// <summary>Semantic label per point, -1 where unknown; null when the segment is unlabelled.</summary>
    public int[]? Segment { get; init; }

    /// <summary>The point's index in the segment as stored, kept through views and grid sampling so that image
    /// correspondences (which name stored indices) can be re-mapped to a view's points.</summary>
    public required int[] SourceIndex { get; init; }

    /// <summary>The segment's images (up to 4), each with its correspondences and cached teacher features.</summary>
    public required IReadOnlyList<SampleImage> Images { get; init; }

    public int Count => SourceIndex.Length;
}

/// <summary>One image of a sample: its size, its pixel-to-point correspondences and, when the featurize stage ran, the
/// teacher's patch features.</summary>
/// <param name="Width">Image width in pixels (original resolution).</param>
/// <param name="Height">Image height in pixels.</param>
/// <param name="Correspondence">Rows of (column px, row px, stored point index), M x 3, at original resolution.</param>
/// <param name="Feature">Teacher patch features, <paramref name="Grid"/>'s tokens x <paramref name="FeatureWidth"/>
/// row-major in (row, column) patch order,
/// <paramref name="FeatureCopies"/> times: the plain features, then those of augmented images; null when the image has
/// none.</param>
/// <param name="FeatureWidth">Channels per patch feature (0 when <paramref name="Feature"/> is null).</param>
/// <param name="FeatureCopies">Feature sets in <paramref name="Feature"/> (1: plain only).</param>
/// <param name="Grid">The teacher's patch grid the correspondences are mapped into (null: DINOv2's 37 x 37).</param>
public sealed record SampleImage(int Width, int Height, float[] Correspondence, Half[]? Feature, int FeatureWidth, int FeatureCopies = 1,
    TeacherGrid? Grid = null)
{
    /// <summary><see cref="Grid"/>, or DINOv2's when none is given.</summary>
    public TeacherGrid PatchGrid => Grid ?? TeacherGrid.Dinov2;
}
