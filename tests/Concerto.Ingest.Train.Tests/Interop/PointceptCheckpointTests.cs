using System.Text.Json;
using Concerto.Ingest.Core.Media;
using Concerto.Ingest.Formats.Arrays;
using Concerto.Ingest.TestSupport;
using Concerto.Ingest.Train.Interop;
using Concerto.Ingest.Train.Model;
using Concerto.Ingest.Train.Optimization;
using Concerto.Ingest.Train.Sparse;
using Concerto.Ingest.Train.Tests.Optimization;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace Concerto.Ingest.Train.Tests.Interop;

/// <summary>Encoders into PyTorch and back, judged by real PyTorch (Debian's python3-torch): names and shapes of the
/// official PT-v3m2 module, the sparse convolution's layout against torch's conv3d, and the same outputs after a round
/// trip through torch.save.</summary>
[Collection(DefaultGeneratorCollection.Name)] // seeds TorchSharp's process-wide generator
public sealed class PointceptCheckpointTests(ITestOutputHelper output) : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("concerto-pth-").FullName;

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    [Fact]
    public async Task Export_IsReadByPyTorchWithTheOfficialNames_AndReadingBackGivesTheSameEncoder()
    {
        manual_seed(5);
        var config = PtV3Config.Tiny with { PatchSize = 64 };
        using var encoder = new PointTransformerV3("encoder", config);
        // Every tensor random, so a swapped norm, bias or transposed weight would change the outputs.
        using (no_grad())
            foreach (var (_, p) in encoder.named_parameters()) p.copy_(randn_like(p) * 0.1);
        var model = Path.Combine(_folder, "model.pth");
        PointceptCheckpoint.Export(encoder, model);

        // Our convolution on a fully occupied 4 x 4 x 4 grid, voxels in x-major order, with the first block's weights.
        const int side = 4;
        var grid = new int[3 * side * side * side];
        for (var i = 0; i < side * side * side; i++) (grid[3 * i], grid[3 * i + 1], grid[3 * i + 2]) = (i / (side * side), i / side % side, i % side);
        using var conv = new SubmanifoldConv3d("conv", 16, 16);
        using (no_grad())
        {
            var state = encoder.state_dict();
            conv.Weight.copy_(state["stages.0.0.cpe.conv.weight"]);
            conv.Bias.copy_(state["stages.0.0.cpe.conv.bias"]);
        }

        using var features = randn(side * side * side, 16);
        using var map = new KernelMapTensors(KernelMap.Build(grid, new int[side * side * side]), CPU);
        using var convolved = conv.forward(features, map);
        Npy.Write<float>(Path.Combine(_folder, "features.npy"), features.data<float>().ToArray(), side * side * side, 16);
        Npy.Write<float>(Path.Combine(_folder, "output.npy"), convolved.detach().data<float>().ToArray(), side * side * side, 16);

        var script = await File.ReadAllTextAsync(Path.Combine(AppContext.BaseDirectory, "Interop", "Python", "check_ptv3_state_dict.py"));
        var (back, bad) = (Path.Combine(_folder, "back.pth"), Path.Combine(_folder, "bad.pth"));
        var report = await DebianPython.RunAsync(script, [model, Path.Combine(AppContext.BaseDirectory, "Interop", "ptv3m2-tiny-parameters.tsv"),
            "enc.enc0.block0.cpe.0", Path.Combine(_folder, "features.npy"), Path.Combine(_folder, "output.npy"), side.ToString(System.Globalization.CultureInfo.InvariantCulture),
            back, bad], _folder);
        output.WriteLine(report);
        Assert.Equal(147, JsonDocument.Parse(report).RootElement.GetProperty("tensors").GetInt32());

        // Written back by PyTorch, read here: the same encoder, output for output.
        using var reread = PointceptCheckpoint.Open(back, patchSize: config.PatchSize);
        Assert.Equal(config.Depths, reread.Config.Depths);
        Assert.Equal(config.Channels, reread.Config.Channels);
        encoder.eval();
        reread.eval();
        using var scope = NewDisposeScope();
        var (coord, cloudGrid) = Model.PointTransformerV3Tests.Cloud(new Random(3), 600);
        var coords = tensor(coord).view(-1, 3);
        var feat = cat([coords, rand(coord.Length / 3, 6)], 1);
        var input = new EncoderInput(feat, coords, coords, cloudGrid, new int[coord.Length / 3], 0.02);
        var expected = encoder.forward(input, new Random(42));
        var actual = reread.forward(input, new Random(42));
        for (var level = 0; level < expected.Count; level++)
        {
            var difference = (expected[level].Feat - actual[level].Feat).abs().max().item<float>();
            Assert.True(difference <= 1e-5f, $"level {level}: max |difference| {difference}");
        }

        // A state dict with a missing tensor and a wrong shape is refused, naming both.
        using var target = new PointTransformerV3("target", config);
        var error = Assert.Throws<BadInputException>(() => PointceptCheckpoint.Load(target, bad));
        Assert.Contains(bad, error.Message, StringComparison.Ordinal);
        Assert.Contains("missing enc.enc3.block2.attn.proj.weight [128, 128]", error.Message, StringComparison.Ordinal);
        Assert.Contains("enc.enc1.down.proj.weight is [16, 32], expected [32, 16]", error.Message, StringComparison.Ordinal);
        // And so is a Small encoder's file for a Tiny model, and a file that is not PyTorch's.
        using var small = new PointTransformerV3("small", PtV3Config.Small);
        var smallFile = Path.Combine(_folder, "small.pth");
        PointceptCheckpoint.Export(small, smallFile);
        error = Assert.Throws<BadInputException>(() => PointceptCheckpoint.Load(target, smallFile));
        Assert.Contains("mismatches", error.Message, StringComparison.Ordinal);
        await File.WriteAllTextAsync(Path.Combine(_folder, "text.pth"), "not a checkpoint");
        error = Assert.Throws<BadInputException>(() => PointceptCheckpoint.Open(Path.Combine(_folder, "text.pth")));
        Assert.Contains("text.pth", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void SparseConvLayout_RoundTrips_AndPutsOffsetXYZAtKernelIndexXYZ()
    {
        using var ours = arange(27 * 2 * 3, dtype: float32).reshape(27, 2, 3);
        using var official = PointceptCheckpoint.ToSpconv(ours);
        Assert.Equal([3L, 3, 3, 3, 2], official.shape);
        // Offset k = 9 (dx + 1) + 3 (dy + 1) + (dz + 1): (dx, dy, dz) = (1, -1, 0) is k = 19, kernel index [2, 0, 1].
        Assert.Equal(ours[19, 1, 2].item<float>(), official[2, 2, 0, 1, 1].item<float>());
        using var back = PointceptCheckpoint.FromSpconv(official);
        Assert.True(back.eq(ours).all().item<bool>());
    }
}
