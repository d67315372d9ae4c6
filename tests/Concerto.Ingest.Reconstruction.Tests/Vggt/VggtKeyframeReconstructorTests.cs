using Concerto.Ingest.Core.Geometry;
using Concerto.Ingest.Reconstruction.Pipeline;
using Concerto.Ingest.Reconstruction.Vggt;
using OpenCvSharp;

namespace Concerto.Ingest.Reconstruction.Tests.Vggt;

/// <summary>Keyframe image files through a VGGT-signature model on the real ONNX Runtime and the whole fusion chain.</summary>
public sealed class VggtKeyframeReconstructorTests : IDisposable
{
    private readonly TempFolder _folder = new();

    public void Dispose() => _folder.Dispose();

    [Fact]
    public async Task Pipeline_FusesTheModelsPlane_AndKeepsItsCameras()
    {
        var truth = PlaneScene.Create(4, 518, 518);
        using var model = VggtModel.Open(new VggtSettings { ModelPath = TestModels.Write(_folder.File("plane.onnx"), truth) });
        var keyframes = Enumerable.Range(0, 4).Select(i =>
        {
            var path = _folder.File($"{i:D7}.jpg");
            using var image = new Mat(360, 640, MatType.CV_8UC3, new Scalar(40 + 30 * i, 120, 200));
            Assert.True(Cv2.ImWrite(path, image));
            return new KeyframeRef(15 * i, i * 0.5, path);
        }).ToList();

        var reconstructor = new VggtKeyframeReconstructor(model, windowSize: 4, overlap: 1);
        var result = await ReconstructionPipeline.RunAsync(reconstructor, keyframes,
            ReconstructionSettings.Default with { VoxelSize = 0.01 }, CancellationToken.None);

        Assert.Equal(("vggt", model.ModelHash), (result.Method, result.ModelHash));
        Assert.Equal([0, 15, 30, 45], result.Views.Select(v => v.FrameIndex));
        Assert.True(result.Cloud.Count > 1000);
        Assert.True(reconstructor.Timing.Inference > TimeSpan.Zero && reconstructor.Timing.Window >= reconstructor.Timing.Inference);

        // Back in the model's world, every fused point lies on its plane and every camera where the model put it.
        var toWorld = result.ToScene.Inverse();
        for (var i = 0; i < result.Cloud.Count; i++)
        {
            var p = toWorld.Apply(result.Cloud.Point(i));
            Assert.True(Math.Abs(p.Z - PlaneScene.PlaneZ) < 1e-3, $"point {i} at z {p.Z}");
        }

        for (var k = 0; k < 4; k++)
        {
            var camera = toWorld.TransformCamera(result.Views[k].CameraToWorld).T;
            Assert.True((camera - truth.WorldToCamera[k].Inverse().T).Length < 1e-4, $"camera {k}");
        }
    }
}
