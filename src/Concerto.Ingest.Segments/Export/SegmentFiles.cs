using Concerto.Ingest.Formats.Datasets;
using Concerto.Ingest.Formats.PointClouds;
using Concerto.Ingest.Segments.Building;
using Concerto.Ingest.Segments.Scenes;

namespace Concerto.Ingest.Segments.Export;

/// <summary>A segment's files in the Pointcept/Concerto layout (shared/spec/concerto.md section 4), one folder per
/// segment: the point cloud (<c>coord.npy</c> float32 N x 3, <c>color.npy</c> uint8, <c>normal.npy</c> float32, and
/// <c>segment.npy</c> / <c>instance.npy</c> int32 when the scene has labels) beside the image side
/// (<c>color/&lt;i&gt;.jpg</c>, <c>correspondence/&lt;i&gt;.npy</c> float32 M x 3 [column px, row px, point index] at the
/// image's resolution, [[-1, -1, -1]] when empty, <c>pose/&lt;i&gt;.npy</c> 4 x 4 camera-to-world, <c>intrinsic/&lt;i&gt;.npy</c>
/// 3 x 3). A dataset export places the cloud under <c>&lt;split&gt;/&lt;scene&gt;/</c> and the image side under
/// <c>images/&lt;split&gt;/&lt;scene&gt;/</c>.</summary>
public static class SegmentFiles
{
    public static void Write(string folder, SceneCloud cloud, Segment segment)
    {
        ArgumentNullException.ThrowIfNull(cloud);
        ArgumentNullException.ThrowIfNull(segment);
        PointCloudFiles.Write(folder, cloud.Arrays.Select(segment.ScenePoints));
        for (var i = 0; i < segment.Images.Count; i++)
        {
            var image = segment.Images[i];
            SegmentImageFiles.WriteCamera(folder, i, image.Rows == 0 ? [] : image.Correspondences, image.View.CameraToWorld.ToMatrix4(), image.View.Intrinsics.ToMatrix3());
            var color = Path.Combine(folder, SegmentImageFiles.ColorFolder, SegmentImageFiles.Name(i) + Path.GetExtension(image.View.ImagePath));
            File.Copy(image.View.ImagePath, color, overwrite: true);
        }
    }
}
