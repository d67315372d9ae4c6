using Concerto.Ingest.Core.Media;
using Concerto.Ingest.Core.Profiles;
using Concerto.Ingest.Features.Teacher;
using Concerto.Ingest.Features.Teacher.Import;
using Concerto.Ingest.Formats.Arrays;
using Concerto.Ingest.Reconstruction.Onnx;
using Concerto.Ingest.Synthetic.Models;
using Google.Protobuf;
using Microsoft.Extensions.Logging.Abstractions;
using Onnx;
using OpenCvSharp;

namespace Concerto.Ingest.Features.Tests;

/// <summary>The real ImageNet ResNet-18 of Microsoft.ML.DnnImageFeaturizer.ResNet18 (restored by this project's build) cut
/// into a patch teacher and run through ONNX Runtime.</summary>
public sealed class ResNetTeacherImportTests : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("concerto-resnet-").FullName;

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    /// <summary>Two different 592 x 592 images give 37 x 37 grids of 256 channels each, finite, and different from each
    /// other; the description records the grid, stride, input, channels, source hash and licence.</summary>
    [Fact]
    public async Task Import_GivesA37By37PatchTeacher_WhoseFeaturesTellImagesApart()
    {
        var package = ResNetTeacherImport.FindPackage();
        Assert.True(package is not null, $"{ResNetTeacherImport.PackageId} {ResNetTeacherImport.PackageVersion} should be restored by the build (PackageDownload)");
        var teacherFolder = Path.Combine(_folder, "teacher");
        var description = ResNetTeacherImport.Import(package, teacherFolder);
        Assert.Equal((37, 37, 16, 592, 592, 256),
            (description.GridRows, description.GridColumns, description.Stride, description.InputHeight, description.InputWidth, description.Channels));
        Assert.Equal(64, description.SourceSha256.Length);
        Assert.Contains("MIT", description.Licence, StringComparison.Ordinal);
        var read = TeacherDescription.Read(teacherFolder);
        Assert.Equal(description.Std, read.Std);
        Assert.Equal(description with { Mean = read.Mean, Std = read.Std }, read);

        var settings = description.Featurize(teacherFolder);
        using var model = TeacherModel.Open(settings, settings.ModelPath!, OnnxDevice.Cpu, NullLogger.Instance);
        Assert.Equal(256, model.Width);
        var images = new[] { WriteImage("stripes.png", stripes: true), WriteImage("blobs.png", stripes: false) };
        await ImageFeaturizer.RunAsync(model, images.Select((p, i) => new FeatureImage(p, $"{i}.npy")).ToList(), _folder, null, CancellationToken.None);

        var (a, shapeA) = Npy.Read<Half>(Path.Combine(_folder, "0.npy"));
        var (b, shapeB) = Npy.Read<Half>(Path.Combine(_folder, "1.npy"));
        Assert.Equal([1369, 256], shapeA);
        Assert.Equal([1369, 256], shapeB);
        Assert.All(a.Concat(b), v => Assert.True(Half.IsFinite(v)));
        Assert.True(a.Count(v => (float)v > 0) > a.Length / 20, "ReLU features: a fair share is positive");
        var difference = a.Zip(b, (x, y) => Math.Abs((float)x - (float)y)).Average();
        var scale = a.Average(v => Math.Abs((float)v));
        Assert.True(difference > 0.1 * scale, $"mean |a - b| {difference:g3} against mean |a| {scale:g3}");
    }

    /// <summary>Pointcept's default crop layout, 45 x 80 patches (720 x 1280 at stride 16): a 16:9 keyframe is cropped to
    /// a whole multiple of the grid and gives 3600 tokens; the featurize settings carry the grid.</summary>
    [Fact]
    public async Task Import_WithANonSquareGrid_FeaturizesOnThatGrid()
    {
        var package = ResNetTeacherImport.FindPackage();
        Assert.True(package is not null, $"{ResNetTeacherImport.PackageId} should be restored by the build");
        var teacherFolder = Path.Combine(_folder, "teacher-45x80");
        var description = ResNetTeacherImport.Import(package, teacherFolder, rows: 45, columns: 80);
        Assert.Equal((45, 80, 720, 1280), (description.GridRows, description.GridColumns, description.InputHeight, description.InputWidth));
        var settings = TeacherDescription.Read(teacherFolder).Featurize(teacherFolder);
        Assert.Equal(new TeacherGrid(45, 80, 16), settings.Grid);
        Assert.Equal((720, 1280), (settings.InputHeight, settings.InputWidth));

        using var model = TeacherModel.Open(settings, settings.ModelPath!, OnnxDevice.Cpu, NullLogger.Instance);
        var image = WriteImage("wide.png", stripes: true, width: 854, height: 480); // k = min(854 / 80, 480 / 45) = 10: 800 x 450
        await ImageFeaturizer.RunAsync(model, [new FeatureImage(image, "wide.npy")], _folder, null, CancellationToken.None);
        var (features, shape) = Npy.Read<Half>(Path.Combine(_folder, "wide.npy"));
        Assert.Equal([3600, 256], shape);
        Assert.All(features, v => Assert.True(Half.IsFinite(v)));

        // An image smaller than the grid is refused, naming the file and the grid.
        var tiny = WriteImage("tiny.png", stripes: false, width: 70, height: 40);
        var error = await Assert.ThrowsAsync<BadInputException>(() =>
            ImageFeaturizer.RunAsync(model, [new FeatureImage(tiny, "tiny.npy")], _folder, null, CancellationToken.None));
        Assert.Contains(tiny, error.Message, StringComparison.Ordinal);
        Assert.Contains("45 x 80", error.Message, StringComparison.Ordinal);
    }

    /// <summary>A file that is not the expected graph is refused, naming the file and what is missing.</summary>
    [Fact]
    public void Import_RefusesAModelThatIsNotTheExpectedGraph()
    {
        var fake = Path.Combine(_folder, "package");
        Directory.CreateDirectory(Path.GetDirectoryName(Path.Combine(fake, ResNetTeacherImport.ModelFile))!);
        Directory.CreateDirectory(Path.GetDirectoryName(Path.Combine(fake, ResNetTeacherImport.PreprocessFile))!);
        DinoSignatureModel.Write(Path.Combine(fake, ResNetTeacherImport.ModelFile), new DinoSignatureModel.DinoModelSpec(Width: 8));
        DinoSignatureModel.Write(Path.Combine(fake, ResNetTeacherImport.PreprocessFile), new DinoSignatureModel.DinoModelSpec(Width: 8));
        var error = Assert.Throws<BadInputException>(() => ResNetTeacherImport.Import(fake, Path.Combine(_folder, "out")));
        Assert.Contains(Path.Combine(fake, ResNetTeacherImport.ModelFile), error.Message, StringComparison.Ordinal);
        Assert.Contains("no node makes 'ReLU347_Output_0'", error.Message, StringComparison.Ordinal);

        error = Assert.Throws<BadInputException>(() => ResNetTeacherImport.Import(Path.Combine(_folder, "nowhere"), Path.Combine(_folder, "out")));
        Assert.Contains("is missing", error.Message, StringComparison.Ordinal);
    }

    /// <summary>A mean image [1, 2, 2, 2] becomes its per-channel means [1, 2, 1, 1]: (1 + 2 + 3 + 4) / 4 = 2.5 and
    /// (10 + 20 + 30 + 40) / 4 = 25; a per-channel constant [3, 1, 1] is copied as it is.</summary>
    [Fact]
    public void PerChannel_ReducesAMeanImageToChannelMeans()
    {
        var image = new TensorProto { Name = "mean", DataType = (int)TensorProto.Types.DataType.Float };
        image.Dims.AddRange([1, 2, 2, 2]);
        image.FloatData.AddRange([1, 2, 3, 4, 10, 20, 30, 40]);
        var reduced = ResNetTeacherImport.PerChannel(image);
        Assert.Equal([1L, 2, 1, 1], reduced.Dims);
        Assert.Equal([2.5f, 25f], System.Runtime.InteropServices.MemoryMarshal.Cast<byte, float>(reduced.RawData.Span).ToArray());

        var constant = new TensorProto { Name = "c", DataType = (int)TensorProto.Types.DataType.Float, RawData = ByteString.CopyFrom(new byte[12]) };
        constant.Dims.AddRange([3, 1, 1]);
        Assert.Equal(constant, ResNetTeacherImport.PerChannel(constant));
    }

    private string WriteImage(string name, bool stripes, int width = 592, int height = 592)
    {
        using var image = new Mat(height, width, MatType.CV_8UC3);
        for (var y = 0; y < height; y++)
        for (var x = 0; x < width; x++)
        {
            var value = stripes ? (x / 16 % 2 == 0 ? 230 : 20) : (int)(127 + 120 * Math.Sin(x / 40.0) * Math.Cos(y / 55.0));
            image.Set(y, x, stripes ? new Vec3b((byte)value, (byte)value, (byte)value) : new Vec3b((byte)value, 90, (byte)(255 - value)));
        }

        var path = Path.Combine(_folder, name);
        Cv2.ImWrite(path, image);
        return path;
    }
}
