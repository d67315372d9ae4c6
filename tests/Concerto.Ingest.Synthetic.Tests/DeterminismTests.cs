using System.Security.Cryptography;
using Concerto.Ingest.Media.Ffmpeg;
using Concerto.Ingest.Synthetic.Capture;
using Concerto.Ingest.Synthetic.Scenes;

namespace Concerto.Ingest.Synthetic.Tests;

public class DeterminismTests
{
    [Fact]
    public async Task WriteAsync_GivesByteIdenticalSidecars_ForTheSameArguments()
    {
        var settings = new SynthSettings(Seed: 11, Frames: 4, Width: 160, Height: 120, Points: 5000);
        var writer = new SyntheticCaptureWriter(FfmpegTools.Locate());
        var first = Directory.CreateTempSubdirectory("concerto-synth-a-").FullName;
        var second = Directory.CreateTempSubdirectory("concerto-synth-b-").FullName;
        try
        {
            await writer.WriteAsync(settings, first, null, CancellationToken.None);
            await writer.WriteAsync(settings, second, null, CancellationToken.None);

            var a = Hashes(first);
            Assert.Equal(4 * 3 + 5 + 1, a.Count);          // depth/semantic/instance per frame, 5 arrays, capture.json
            Assert.Equal(a, Hashes(second));
        }
        finally
        {
            Directory.Delete(first, true);
            Directory.Delete(second, true);
        }
    }

    [Fact]
    public void Generate_GivesDifferentRooms_ForDifferentSeeds()
    {
        var a = SceneGenerator.Generate(1);
        var b = SceneGenerator.Generate(2);
        Assert.NotEqual((a.Width, a.Depth, a.Height), (b.Width, b.Depth, b.Height));
        Assert.True(Enum.GetValues<SemanticClass>().Length >= 10);
        Assert.Contains(a.Parts, p => p.Class >= SemanticClass.Table); // furnished
    }

    private static SortedDictionary<string, string> Hashes(string folder) =>
        new(Directory.EnumerateFiles(folder, "*", SearchOption.AllDirectories)
            .Where(f => Path.GetFileName(f) != SyntheticCaptureWriter.VideoFile)
            .ToDictionary(f => Path.GetRelativePath(folder, f), f => Convert.ToHexString(SHA256.HashData(File.ReadAllBytes(f)))),
            StringComparer.Ordinal);
}
