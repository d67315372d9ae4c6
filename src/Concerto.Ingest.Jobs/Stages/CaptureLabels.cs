using Concerto.Ingest.Core.Captures;
using Concerto.Ingest.Core.Media;
using Concerto.Ingest.Reconstruction.Posed;
using Concerto.Ingest.Segments.Labels;
using Concerto.Ingest.Segments.Scenes;
using OpenCvSharp;

namespace Concerto.Ingest.Jobs.Stages;

/// <summary>Per-frame label images of a capture (capture.json beside the video with semantic and instance folders).</summary>
internal static class CaptureLabels
{
    /// <summary>A loader of each view's label image, or null when the video has no labelled capture beside it.</summary>
    public static Func<int, LabelImage?>? Find(string videoPath, IReadOnlyList<SceneView> views)
    {
        var folder = Path.GetDirectoryName(Path.GetFullPath(videoPath))!;
        if (!File.Exists(Path.Combine(folder, CaptureManifest.FileName))) return null;
        var manifest = CaptureReader.Load(folder);
        if (manifest.Video != Path.GetFileName(videoPath) || manifest.Semantic is not { } semantic || manifest.Instance is not { } instance) return null;
        var ignore = semantic.Ignore ?? -1;
        return v =>
        {
            var name = $"{views[v].FrameIndex:D6}.png";
            var semanticPath = Path.Combine(folder, semantic.Folder, name);
            var instancePath = Path.Combine(folder, instance.Folder, name);
            if (!File.Exists(semanticPath) || !File.Exists(instancePath)) return null;
            using var s = Cv2.ImRead(semanticPath, ImreadModes.Unchanged);
            using var i = Cv2.ImRead(instancePath, ImreadModes.Unchanged);
            if (s.Empty() || i.Empty() || s.Size() != i.Size())
                throw new BadInputException($"{semanticPath}: unreadable label image, or its size differs from {instancePath}; re-export the capture.");
            var labels = new LabelImage(s.Width, s.Height, ToInts(s), ToInts(i));
            for (var p = 0; p < labels.Semantic.Length; p++)
                if (labels.Semantic[p] == ignore) labels.Semantic[p] = LabelImage.Ignore;
            return labels;
        };
    }

    private static int[] ToInts(Mat image)
    {
        using var wide = new Mat(); // newly allocated, so continuous
        image.ConvertTo(wide, MatType.CV_32SC1);
        var values = new int[image.Width * image.Height];
        System.Runtime.InteropServices.Marshal.Copy(wide.Data, values, 0, values.Length);
        return values;
    }
}
