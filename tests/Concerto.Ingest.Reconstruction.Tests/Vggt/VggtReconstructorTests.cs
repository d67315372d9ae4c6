using Concerto.Ingest.Reconstruction.Onnx;
using Concerto.Ingest.Core.Geometry;
using Concerto.Ingest.Core.Media;
using Concerto.Ingest.Reconstruction.Fusion;
using Concerto.Ingest.Reconstruction.Vggt;

namespace Concerto.Ingest.Reconstruction.Tests.Vggt;

public sealed class VggtReconstructorTests : IDisposable
{
    private const int OriginalWidth = 640, OriginalHeight = 360; // 518x294 after the resize in both modes
    private readonly TempFolder _folder = new();
    private readonly Xunit.Abstractions.ITestOutputHelper _output;

    public VggtReconstructorTests(Xunit.Abstractions.ITestOutputHelper output) => _output = output;

    public void Dispose() => _folder.Dispose();

    [Fact]
    public void Reconstruct_RecoversCamerasAndPlane_InPadMode()
    {
        var truth = PlaneScene.Create(3, 518, 518);
        using var model = Open(truth, "pad.onnx");
        var window = new VggtReconstructor(model).Reconstruct(Frames(3, 51, 102, 204));
        Assert.Equal(VggtInputMode.Pad, window.Geometry.Mode);
        Assert.Equal((518, 294, 0, 112), (window.Geometry.ResizedWidth, window.Geometry.ResizedHeight, window.Geometry.OffsetX, window.Geometry.OffsetY));
        AssertCameras(truth, window, 1e-5);
        AssertOnPlane(window, 1e-4);
        foreach (var frame in window.Frames)
        {
            var d = frame.Depth;
            // Padding: rows [0, 112) and [406, 518) have no depth, no confidence and white pixels.
            Assert.All(new[] { 0, 111, 406, 517 }, v => Assert.Equal(0f, d.Depth[v * 518 + 200]));
            Assert.All(new[] { 0, 111, 406, 517 }, v => Assert.Equal(0f, d.Confidence![v * 518 + 200]));
            Assert.Equal(255, d.Rgb[(10 * 518 + 10) * 3]);
            Assert.Equal(294 * 518, d.Depth.Count(DepthFrame.IsValidDepth));
            // Interior: the frame's uniform colour survives the bicubic resize.
            Assert.Equal(new byte[] { 51, 102, 204 }, d.Rgb.AsSpan((300 * 518 + 250) * 3, 3).ToArray());
        }

        // depth_conf = truth + max(input); the white padding makes max(input) exactly 1: the input is in [0, 1].
        var conf = window.Frames[1].Depth.Confidence!;
        var p = 200 * 518 + 300;
        Assert.Equal(truth.DepthConfidence[518 * 518 + p] + 1f, conf[p], 5);
    }

    [Fact]
    public void Reconstruct_RecoversCamerasAndPlane_InCropMode()
    {
        var truth = PlaneScene.Create(2, 294, 518);
        using var model = Open(truth, "crop.onnx", new TestModelOptions { DynamicSize = true });
        var window = new VggtReconstructor(model).Reconstruct(Frames(2, 51, 102, 204));
        Assert.Equal((VggtInputMode.Crop, 518, 294), (window.Geometry.Mode, window.Geometry.NetworkWidth, window.Geometry.NetworkHeight));
        AssertCameras(truth, window, 1e-5);
        AssertOnPlane(window, 1e-4);
        Assert.All(window.Frames, f => Assert.Equal(294 * 518, f.Depth.Depth.Count(DepthFrame.IsValidDepth)));
        // max(input) = 204 / 255 = 0.8: the model saw the frame's pixels scaled to [0, 1], without padding.
        var p = 100 * 518 + 17;
        Assert.Equal(truth.DepthConfidence[p] + 204 / 255f, window.Frames[0].Depth.Confidence![p], 6);
    }

    [Fact]
    public void OriginalCamera_ProjectsWorldPointsToTheOriginalPixels()
    {
        var truth = PlaneScene.Create(2, 518, 518);
        using var model = Open(truth, "pad.onnx");
        var window = new VggtReconstructor(model).Reconstruct(Frames(2, 10, 20, 30));
        var g = window.Geometry;
        foreach (var frame in window.Frames)
        {
            var k = frame.OriginalCamera.Intrinsics;
            Assert.Equal((OriginalWidth, OriginalHeight), (k.Width, k.Height));
            Assert.Equal(frame.NetworkCamera.WorldToCamera, frame.OriginalCamera.WorldToCamera);
            var point = frame.NetworkCamera.WorldToCamera.Apply(new V3(0.3, -0.2, PlaneScene.PlaneZ));
            var (un, vn) = frame.NetworkCamera.Intrinsics.Project(point);
            var (uo, vo) = k.Project(point);
            var (ue, ve) = g.NetworkToOriginal(un, vn);
            Assert.Equal(ue, uo, 9);
            Assert.Equal(ve, vo, 9);
        }
    }

    [Fact]
    public void Reconstruct_Works_WithFloat16Model()
    {
        var truth = PlaneScene.Create(2, 518, 518);
        using var model = Open(truth, "fp16.onnx", new TestModelOptions { Float16 = true });
        Assert.True(model.InputIsFloat16);
        var window = new VggtReconstructor(model).Reconstruct(Frames(2, 51, 102, 204));
        // float16 keeps 11 significant bits: relative error up to 2^-11 ~ 5e-4 per value.
        AssertCameras(truth, window, 2e-3);
        AssertOnPlane(window, 5e-3);
    }

    [Fact]
    public void Reconstruct_Works_WithRank5Input()
    {
        var truth = PlaneScene.Create(2, 518, 518);
        using var model = Open(truth, "rank5.onnx", new TestModelOptions { InputRank = 5 });
        Assert.Equal(5, model.InputRank);
        var window = new VggtReconstructor(model).Reconstruct(Frames(2, 1, 2, 3));
        AssertCameras(truth, window, 1e-5);
        AssertOnPlane(window, 1e-4);
    }

    [Fact]
    public void Reconstruct_ReadsThePointMap_WhenEnabled()
    {
        var truth = PlaneScene.Create(2, 518, 518);
        using var model = Open(truth, "pad.onnx", usePointMap: true);
        var window = new VggtReconstructor(model).Reconstruct(Frames(2, 1, 2, 3));
        var g = window.Geometry;
        for (var i = 0; i < 2; i++)
        {
            var frame = window.Frames[i];
            Assert.NotNull(frame.WorldPoints);
            var plane = 518 * 518;
            Assert.Equal(truth.WorldPoints.AsSpan(i * 3 * plane, 3 * plane).ToArray(), frame.WorldPoints);
            var p = (g.OffsetY + 10) * 518 + 30;
            Assert.Equal(truth.WorldPointsConfidence[i * plane + p], frame.WorldPointsConfidence![p]);
            Assert.Equal(0f, frame.WorldPointsConfidence[5 * 518 + 30]); // padding
        }
    }

    [Fact]
    public void Reconstruct_LeavesPointMapOut_ByDefault()
    {
        var truth = PlaneScene.Create(2, 518, 518);
        using var model = Open(truth, "pad.onnx");
        var window = new VggtReconstructor(model).Reconstruct(Frames(2, 1, 2, 3));
        Assert.All(window.Frames, f => Assert.Null(f.WorldPoints));
    }

    [Fact]
    public void Reconstruct_ReportsInferenceTimeWithinTotal()
    {
        var truth = PlaneScene.Create(2, 518, 518);
        using var model = Open(truth, "pad.onnx");
        var window = new VggtReconstructor(model).Reconstruct(Frames(2, 1, 2, 3));
        Assert.True(window.InferenceTime > TimeSpan.Zero);
        Assert.True(window.InferenceTime <= window.TotalTime);
        Assert.Equal(model.ModelHash, window.ModelHash);
        Assert.Equal(VggtModel.Cpu, window.ExecutionProvider);
        _output.WriteLine($"2 frames 518x518 pad: Run {window.InferenceTime.TotalMilliseconds:0.0} ms, total {window.TotalTime.TotalMilliseconds:0.0} ms");
    }

    [Fact]
    public void Reconstruct_ReportsTimes_ForRealisticWindow()
    {
        // The benchmark size: 32 frames, 518x294 network outputs (crop mode). Keyframes come 518 wide from the
        // decoder (scaled inside ffmpeg), so no resize is needed; a 1920x1080 window adds the bicubic resize.
        var truth = PlaneScene.Create(32, 294, 518);
        using var model = Open(truth, "crop32.onnx", new TestModelOptions { DynamicSize = true });
        var reconstructor = new VggtReconstructor(model);
        foreach (var (w, h) in new[] { (518, 294), (1920, 1080) })
        {
            var rgb = new byte[w * h * 3];
            new Random(1).NextBytes(rgb);
            var frames = Enumerable.Range(0, 32).Select(_ => new RgbFrame(w, h, rgb)).ToArray();
            reconstructor.Reconstruct(frames); // warm-up
            var window = reconstructor.Reconstruct(frames);
            AssertCameras(truth, window, 1e-5);
            _output.WriteLine($"32 frames {w}x{h} -> 518x294: Run {window.InferenceTime.TotalMilliseconds:0.0} ms, total " +
                $"{window.TotalTime.TotalMilliseconds:0.0} ms, outside Run {window.OutsideInferenceTime.TotalMilliseconds:0.0} ms " +
                $"({100 * window.OutsideInferenceTime / window.TotalTime:0.0}%)");
        }
    }

    [Fact]
    public void Reconstruct_Throws_WhenWindowDoesNotMatchModelFrames()
    {
        // The model emits 2 frames whatever N is: a 3-frame window gets outputs for 2 and must say so.
        var truth = PlaneScene.Create(2, 518, 518);
        using var model = Open(truth, "pad.onnx");
        var e = Assert.Throws<BadInputException>(() => new VggtReconstructor(model).Reconstruct(Frames(3, 1, 2, 3)));
        Assert.Contains("output 'pose_enc' has shape [1,2,9]", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Reconstruct_Throws_WhenCropFramesDoNotFitFixedModel()
    {
        var truth = PlaneScene.Create(2, 518, 518);
        using var model = Open(truth, "pad.onnx", mode: VggtInputModeSetting.Crop);
        var e = Assert.Throws<BadInputException>(() => new VggtReconstructor(model).Reconstruct(Frames(2, 1, 2, 3)));
        Assert.Contains("become 518x294 in Crop mode", e.Message, StringComparison.Ordinal);
    }

    private VggtModel Open(PlaneScene truth, string name, TestModelOptions? options = null, bool usePointMap = false,
        VggtInputModeSetting mode = VggtInputModeSetting.Auto) =>
        VggtModel.Open(new VggtSettings
        {
            ModelPath = TestModels.Write(_folder.File(name), truth, options),
            Device = OnnxDevice.Cpu,
            UsePointMap = usePointMap,
            Mode = mode,
        });

    private static RgbFrame[] Frames(int count, byte r, byte g, byte b)
    {
        var rgb = new byte[OriginalWidth * OriginalHeight * 3];
        for (var i = 0; i < rgb.Length; i += 3) (rgb[i], rgb[i + 1], rgb[i + 2]) = (r, g, b);
        return Enumerable.Range(0, count).Select(_ => new RgbFrame(OriginalWidth, OriginalHeight, rgb)).ToArray();
    }

    private static void AssertCameras(PlaneScene truth, VggtWindow window, double tolerance)
    {
        Assert.Equal(truth.Frames, window.Frames.Count);
        for (var i = 0; i < truth.Frames; i++)
        {
            var camera = window.Frames[i].NetworkCamera;
            var expected = truth.WorldToCamera[i];
            for (var k = 0; k < 9; k++)
                Assert.True(Math.Abs(camera.WorldToCamera.R[k] - expected.R[k]) <= tolerance, $"frame {i} R[{k}]: {camera.WorldToCamera.R[k]} vs {expected.R[k]}");
            var dt = (camera.WorldToCamera.T - expected.T).Length;
            Assert.True(dt <= tolerance * Math.Max(1, expected.T.Length), $"frame {i} t off by {dt}");
            var k0 = truth.Intrinsics;
            Assert.True(Math.Abs(camera.Intrinsics.Fx / k0.Fx - 1) <= tolerance, $"fx {camera.Intrinsics.Fx} vs {k0.Fx}");
            Assert.True(Math.Abs(camera.Intrinsics.Fy / k0.Fy - 1) <= tolerance, $"fy {camera.Intrinsics.Fy} vs {k0.Fy}");
            Assert.Equal((k0.Cx, k0.Cy), (camera.Intrinsics.Cx, camera.Intrinsics.Cy));
            // The depth frame's pose is the inverse of the decoded extrinsic.
            var c2w = window.Frames[i].Depth.CameraToWorld;
            Assert.True((c2w.Apply(camera.WorldToCamera.Apply(new V3(1, 2, 3))) - new V3(1, 2, 3)).Length < 1e-9);
        }
    }

    /// <summary>Every valid pixel unprojects (X_c = ((u-cx) d/fx, (v-cy) d/fy, d), X_w = camera-to-world X_c) onto the
    /// plane z = 2.</summary>
    private static void AssertOnPlane(VggtWindow window, double tolerance)
    {
        foreach (var frame in window.Frames)
        {
            var d = frame.Depth;
            var k = d.Intrinsics;
            double worst = 0;
            for (var v = 0; v < d.Height; v++)
            {
                for (var u = 0; u < d.Width; u++)
                {
                    var z = d.Depth[v * d.Width + u];
                    if (!DepthFrame.IsValidDepth(z)) continue;
                    var world = d.CameraToWorld.Apply(k.Ray(u, v) * z);
                    worst = Math.Max(worst, Math.Abs(world.Z - PlaneScene.PlaneZ));
                }
            }

            Assert.True(worst <= tolerance, $"a point lies {worst} off the plane");
        }
    }
}
