using Concerto.Ingest.Core.Geometry;
using Concerto.Ingest.Synthetic.Capture;
using Concerto.Ingest.Synthetic.Rendering;
using Concerto.Ingest.Synthetic.Scenes;
using OpenCvSharp;

namespace Concerto.Ingest.Reconstruction.Classic.Tests.Sfm;

/// <summary>Keyframes of a synthetic room rendered along the hand-held path, written as PNG files, with the exact
/// cameras and z-depth.</summary>
internal sealed class SyntheticSequence : IDisposable
{
    public string Folder { get; }
    public IReadOnlyList<string> Images { get; }
    public IReadOnlyList<RigidTransform> Truth { get; }
    public IReadOnlyList<float[]> Depth { get; }
    public PinholeIntrinsics Intrinsics { get; }

    public SyntheticSequence(int seed, int keyframes, double keyframeFps, int width = 320, int height = 240, double fovDegrees = 70)
    {
        Folder = Path.Combine(Path.GetTempPath(), $"sfm-{seed}-{Guid.NewGuid():N}");
        Directory.CreateDirectory(Folder);
        var scene = SceneGenerator.Generate(seed);
        var path = new CameraPath(scene, seed);
        Intrinsics = PinholeIntrinsics.FromHorizontalFov(width, height, fovDegrees);
        var renderer = new FrameRenderer(scene, Intrinsics);
        var frame = new RenderedFrame(width, height);
        var images = new List<string>();
        var truth = new List<RigidTransform>();
        var depth = new List<float[]>();
        for (var i = 0; i < keyframes; i++)
        {
            var pose = path.PoseAt(i / keyframeFps);
            renderer.Render(pose, frame);
            using var rgb = Mat.FromPixelData(height, width, MatType.CV_8UC3, frame.Rgb);
            using var bgr = new Mat();
            Cv2.CvtColor(rgb, bgr, ColorConversionCodes.RGB2BGR);
            var file = Path.Combine(Folder, $"{i:D4}.png");
            if (!Cv2.ImWrite(file, bgr)) throw new IOException($"could not write {file}");
            images.Add(file);
            truth.Add(pose);
            depth.Add((float[])frame.Depth.Clone());
        }

        Images = images;
        Truth = truth;
        Depth = depth;
    }

    public void Dispose()
    {
        try { Directory.Delete(Folder, recursive: true); }
        catch (IOException) { }
    }
}
