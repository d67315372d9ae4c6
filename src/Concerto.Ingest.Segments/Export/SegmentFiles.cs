using Concerto.Ingest.Core.Formats;
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
    public static readonly string[] ImageFolders = ["color", "correspondence", "pose", "intrinsic"];

    public static void Write(string folder, SceneCloud cloud, Segment segment)
    {
        ArgumentNullException.ThrowIfNull(cloud);
        ArgumentNullException.ThrowIfNull(segment);
        Directory.CreateDirectory(folder);
        var n = segment.Points;
        var coord = new float[3 * n];
        var color = new byte[3 * n];
        var normal = new float[3 * n];
        for (var i = 0; i < n; i++)
        {
            var p = segment.ScenePoints[i];
            for (var a = 0; a < 3; a++)
            {
                coord[3 * i + a] = cloud.Coord[3 * p + a];
                color[3 * i + a] = cloud.Color[3 * p + a];
                normal[3 * i + a] = cloud.Normal[3 * p + a];
            }
        }

        Npy.Write<float>(Path.Combine(folder, "coord.npy"), coord, n, 3);
        Npy.Write<byte>(Path.Combine(folder, "color.npy"), color, n, 3);
        Npy.Write<float>(Path.Combine(folder, "normal.npy"), normal, n, 3);
        if (cloud.Segment is { } labels) Npy.Write<int>(Path.Combine(folder, "segment.npy"), segment.ScenePoints.Select(p => labels[p]).ToArray(), n);
        if (cloud.Instance is { } instances) Npy.Write<int>(Path.Combine(folder, "instance.npy"), segment.ScenePoints.Select(p => instances[p]).ToArray(), n);

        foreach (var sub in ImageFolders) Directory.CreateDirectory(Path.Combine(folder, sub));
        for (var i = 0; i < segment.Images.Count; i++)
        {
            var image = segment.Images[i];
            var name = i.ToString(System.Globalization.CultureInfo.InvariantCulture);
            File.Copy(image.View.ImagePath, Path.Combine(folder, "color", name + Path.GetExtension(image.View.ImagePath)), overwrite: true);
            float[] rows = image.Rows == 0 ? [-1, -1, -1] : image.Correspondences;
            Npy.Write<float>(Path.Combine(folder, "correspondence", name + ".npy"), rows, rows.Length / 3, 3);
            Npy.Write<float>(Path.Combine(folder, "pose", name + ".npy"), image.View.CameraToWorld.ToMatrix4().Select(v => (float)v).ToArray(), 4, 4);
            Npy.Write<float>(Path.Combine(folder, "intrinsic", name + ".npy"), image.View.Intrinsics.ToMatrix3().Select(v => (float)v).ToArray(), 3, 3);
        }
    }
}
