using Concerto.Ingest.Formats.Datasets;
using Concerto.Ingest.Segments.Building;
using Concerto.Ingest.Storage.Catalog;

namespace Concerto.Ingest.Jobs.Stages;

/// <summary>The index rows of a built segment: what the segment stage commits (and the segment benchmark indexes).</summary>
public static class SegmentRows
{
    /// <param name="segment">The built segment.</param>
    /// <param name="ordinal">Its place among the run's segments.</param>
    /// <param name="segmentKey">Its key in datasets and manifests.</param>
    /// <param name="artifactKey">The artifact folder its files were published under.</param>
    /// <param name="labelled">Whether its cloud carries semantic labels.</param>
    public static SegmentRow From(Segment segment, int ordinal, string segmentKey, string artifactKey, bool labelled)
    {
        ArgumentNullException.ThrowIfNull(segment);
        var images = segment.Images.Select((m, slot) =>
        {
            var k = m.View.Intrinsics;
            return new SegmentImageRow(slot, m.View.FrameIndex, m.View.Time, m.View.CameraToWorld.ToMatrix4(), k.Fx, k.Fy, k.Cx, k.Cy, k.Width,
                k.Height, $"{SegmentImageFiles.ColorFolder}/{SegmentImageFiles.Name(slot)}{Path.GetExtension(m.View.ImagePath)}", m.Rows, m.Coverage,
                m.VisibleFraction);
        }).ToList();
        return new SegmentRow(segmentKey, ordinal, artifactKey, segment.Points, images.Sum(i => (long)i.Correspondences), segment.Group.MinCovisibility,
            segment.Group.MinBaseline, segment.Group.MaxOverlap, images.Average(i => i.Coverage), images.Min(i => i.Coverage),
            images.Average(i => i.VisibleFraction), labelled, images);
    }
}
