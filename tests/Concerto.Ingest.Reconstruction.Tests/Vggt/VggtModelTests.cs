using Concerto.Ingest.Reconstruction.Onnx;
using System.Security.Cryptography;
using Concerto.Ingest.Core.Media;
using Concerto.Ingest.Reconstruction.Vggt;

namespace Concerto.Ingest.Reconstruction.Tests.Vggt;

public sealed class VggtModelTests : IDisposable
{
    private readonly TempFolder _folder = new();

    public void Dispose() => _folder.Dispose();

    private static readonly PlaneScene Small = PlaneScene.Create(2, 518, 518);

    private string Build(string name, TestModelOptions? options = null) => TestModels.Write(_folder.File(name), Small, options);

    [Fact]
    public void Open_FallsBackToCpu_WhenCudaRequestedWithoutGpu()
    {
        var path = Build("vggt.onnx");
        using var model = VggtModel.Open(new VggtSettings { ModelPath = path, Device = OnnxDevice.Cuda });
        if (File.Exists("/dev/nvidiactl")) Assert.Contains(model.ExecutionProvider, new[] { VggtModel.Cuda, VggtModel.Cpu });
        else Assert.Equal(VggtModel.Cpu, model.ExecutionProvider);
    }

    [Fact]
    public void Open_LogsProviderOnce_AndCudaFailureAtMostOncePerProcess()
    {
        var path = Build("vggt.onnx");
        var logger = new RecordingLogger();
        using (VggtModel.Open(new VggtSettings { ModelPath = path, Device = OnnxDevice.Cuda }, logger))
        using (VggtModel.Open(new VggtSettings { ModelPath = path, Device = OnnxDevice.Auto }, logger))
        {
        }

        var opened = logger.Entries.Where(e => e.EventId == 4101).ToList();
        Assert.Equal(2, opened.Count);
        Assert.All(opened, e => Assert.Contains(path, e.Message, StringComparison.Ordinal));
        if (!File.Exists("/dev/nvidiactl"))
        {
            Assert.All(opened, e => Assert.Contains(" on CPU:", e.Message, StringComparison.Ordinal));
            // Earlier tests in this process may already have met the failure; never more than one report.
            Assert.True(logger.Entries.Count(e => e.EventId is 4103 or 4104) <= 1);
        }
    }

    [Fact]
    public void Open_UsesCpu_WhenDeviceIsCpu()
    {
        using var model = VggtModel.Open(new VggtSettings { ModelPath = Build("vggt.onnx"), Device = OnnxDevice.Cpu });
        Assert.Equal(VggtModel.Cpu, model.ExecutionProvider);
    }

    [Fact]
    public void ModelHash_IsSha256OfTheFile_WhenModelIsSelfContained()
    {
        var path = Build("vggt.onnx");
        using var model = VggtModel.Open(new VggtSettings { ModelPath = path, Device = OnnxDevice.Cpu });
        var expected = Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(path)));
        Assert.Equal(expected, model.ModelHash);
        Assert.Equal([new ModelFileHash("vggt.onnx", expected)], model.ModelFiles);
    }

    [Fact]
    public void ModelHash_CoversExternalData_AsSha256sumManifest()
    {
        var path = Build("vggt.onnx", new TestModelOptions { ExternalData = true });
        using var model = VggtModel.Open(new VggtSettings { ModelPath = path, Device = OnnxDevice.Cpu });
        var onnx = Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(path)));
        var data = Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(path + "_data")));
        // What `sha256sum vggt.onnx vggt.onnx_data | sha256sum` prints.
        var manifest = $"{onnx}  vggt.onnx\n{data}  vggt.onnx_data\n";
        Assert.Equal(Convert.ToHexStringLower(SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(manifest))), model.ModelHash);
        Assert.Equal(2, model.ModelFiles.Count);
        Assert.True(new FileInfo(path).Length < 10_000, "the weights should live in the external file");
    }

    [Fact]
    public void Open_ChoosesPad_ForFixed518Input_AndCrop_ForDynamicSize()
    {
        using (var pad = VggtModel.Open(new VggtSettings { ModelPath = Build("pad.onnx"), Device = OnnxDevice.Cpu }))
        {
            Assert.Equal(VggtInputMode.Pad, pad.InputMode);
            Assert.Equal((518, 518, (int?)null), (pad.FixedHeight!.Value, pad.FixedWidth!.Value, pad.FixedFrames));
        }

        using var crop = VggtModel.Open(new VggtSettings { ModelPath = Build("crop.onnx", new TestModelOptions { DynamicSize = true }), Device = OnnxDevice.Cpu });
        Assert.Equal(VggtInputMode.Crop, crop.InputMode);
        Assert.Equal(518, crop.TargetSize);
    }

    [Fact]
    public void Open_Throws_WhenModelFileIsMissing()
    {
        var path = _folder.File("absent.onnx");
        var e = Assert.Throws<BadInputException>(() => VggtModel.Open(new VggtSettings { ModelPath = path }));
        Assert.Contains(path, e.Message, StringComparison.Ordinal);
        Assert.Contains("does not exist", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Open_Throws_WhenExternalDataFileIsMissing()
    {
        var path = Build("vggt.onnx", new TestModelOptions { ExternalData = true });
        File.Delete(path + "_data");
        var e = Assert.Throws<BadInputException>(() => VggtModel.Open(new VggtSettings { ModelPath = path }));
        Assert.Contains(path, e.Message, StringComparison.Ordinal);
        Assert.Contains("external data file vggt.onnx_data", e.Message, StringComparison.Ordinal);
        Assert.Contains("missing", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Open_Throws_WhenInputHasRank3()
    {
        var path = Build("rank3.onnx", new TestModelOptions { InputRank = 3 });
        var e = Assert.Throws<BadInputException>(() => VggtModel.Open(new VggtSettings { ModelPath = path }));
        Assert.Contains(path, e.Message, StringComparison.Ordinal);
        Assert.Contains("rank 3", e.Message, StringComparison.Ordinal);
        Assert.Contains("expected rank 4 [N,3,H,W] or rank 5 [B,S,3,H,W]", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Open_Throws_WhenAnOutputIsRenamed()
    {
        var path = Build("renamed.onnx", new TestModelOptions { OutputNames = ["pose_enc", "depth", "confidence", "world_points", "world_points_conf"] });
        var e = Assert.Throws<BadInputException>(() => VggtModel.Open(new VggtSettings { ModelPath = path }));
        Assert.Contains(path, e.Message, StringComparison.Ordinal);
        Assert.Contains("lacks the output(s) 'depth_conf'", e.Message, StringComparison.Ordinal);
        Assert.Contains("'confidence' float[1,2,518,518]", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Open_Succeeds_WhenRenamedOutputIsConfigured()
    {
        var path = Build("renamed.onnx", new TestModelOptions { OutputNames = ["pose_enc", "depth", "confidence", "pts", "pts_conf"] });
        using var model = VggtModel.Open(new VggtSettings { ModelPath = path, DepthConfidenceOutput = "confidence", Device = OnnxDevice.Cpu });
        Assert.Equal(VggtModel.Cpu, model.ExecutionProvider);
        // The point-map outputs are only required when the point map is used.
        var e = Assert.Throws<BadInputException>(() => VggtModel.Open(new VggtSettings { ModelPath = path, DepthConfidenceOutput = "confidence", UsePointMap = true }));
        Assert.Contains("'world_points', 'world_points_conf'", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Open_Throws_WhenInputNameDiffers()
    {
        var path = Build("images.onnx", new TestModelOptions { InputName = "images" });
        var e = Assert.Throws<BadInputException>(() => VggtModel.Open(new VggtSettings { ModelPath = path }));
        Assert.Contains(path, e.Message, StringComparison.Ordinal);
        Assert.Contains("no input named 'input_images'", e.Message, StringComparison.Ordinal);
        Assert.Contains("'images' float[N,3,518,518]", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Open_Throws_WhenFileIsNotAnOnnxModel()
    {
        var path = _folder.File("garbage.onnx");
        File.WriteAllText(path, "this is not a model");
        var e = Assert.Throws<BadInputException>(() => VggtModel.Open(new VggtSettings { ModelPath = path }));
        Assert.Contains(path, e.Message, StringComparison.Ordinal);
    }
}
