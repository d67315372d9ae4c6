using Concerto.Ingest.Core.Geometry;
using Concerto.Ingest.Core.Media;
using Concerto.Ingest.Media.Ffmpeg;
using Concerto.Ingest.Reconstruction.Fusion;
using Concerto.Ingest.Reconstruction.Posed;
using Concerto.Ingest.Synthetic.Capture;
using Concerto.Ingest.Synthetic.Scenes;

namespace Concerto.Ingest.Reconstruction.Tests.Posed;

/// <summary>A rendered synthetic capture read back and fused: the cloud must lie on the scene's true surfaces.</summary>
public sealed class CaptureFusionTests : IAsyncLifetime
{
    private static readonly SynthSettings Settings = new(Seed: 5, Frames: 30, Width: 320, Height: 240, Fps: 10, Points: 1000);
    private readonly string _folder = Directory.CreateTempSubdirectory("concerto-capture-").FullName;
    private readonly FfmpegTools _tools = FfmpegTools.Locate();

    // Only the fusion test needs the rendered capture.
    public Task InitializeAsync() => Task.CompletedTask;

    public Task DisposeAsync()
    {
        Directory.Delete(_folder, recursive: true);
        return Task.CompletedTask;
    }

    [Fact]
    public async Task FusedCapture_LiesOnTheSceneSurfaces_WithColoursFromTheVideo()
    {
        await new SyntheticCaptureWriter(_tools).WriteAsync(Settings, _folder, null, CancellationToken.None);
        var manifest = CaptureReader.Load(_folder);
        var fusion = new VoxelFusion(new VoxelFusionSettings(0.02));
        var frames = 0;
        await foreach (var (_, frame) in new CaptureReader(_tools).ReadAsync(_folder, manifest, new HashSet<int> { 0, 7, 14, 21, 28 }, CancellationToken.None))
        {
            fusion.Add(frame);
            frames++;
        }

        var cloud = fusion.ToCloud();
        Assert.Equal(5, frames);
        Assert.True(cloud.Count > 10_000, $"only {cloud.Count} points");

        var scene = SceneGenerator.Generate(Settings.Seed);
        var distances = new double[cloud.Count];
        for (var i = 0; i < cloud.Count; i++)
            distances[i] = scene.DistanceToSurface(cloud.Point(i));
        Array.Sort(distances);
        // A voxel's mean lies on a flat surface; only voxels straddling an edge or corner sit a few mm inside it.
        Assert.True(distances.Average() < 0.001, $"mean distance {distances.Average() * 1000:0.00} mm");
        Assert.True(distances[(int)(0.95 * distances.Length)] < 0.002, $"95th percentile {distances[(int)(0.95 * distances.Length)] * 1000:0.00} mm");

        // Colours come from the decoded video, not black padding.
        Assert.True(cloud.Color.Average(c => (double)c) > 40);
    }

    [Fact]
    public void Load_NamesTheFileAndTheProblem_WhenManifestIsWrong()
    {
        var broken = Directory.CreateTempSubdirectory("concerto-broken-capture-").FullName;
        try
        {
            File.WriteAllText(Path.Combine(broken, "capture.json"), """{ "format": "something-else", "version": 2, "video": "nope.mp4", "width": 10, "height": 10, "fps": 30, "intrinsics": { "fx": 1, "fy": 1, "cx": 0, "cy": 0 }, "depth": { "folder": "depth", "encoding": "png16" }, "frames": [] }""");
            var e = Assert.Throws<BadInputException>(() => CaptureReader.Load(broken));
            Assert.Contains(Path.Combine(broken, "capture.json"), e.Message, StringComparison.Ordinal);
            Assert.Contains("format is 'something-else'", e.Message, StringComparison.Ordinal);
            Assert.Contains("version 2", e.Message, StringComparison.Ordinal);
            Assert.Contains("unitsPerMetre", e.Message, StringComparison.Ordinal);
            Assert.Contains("no frames", e.Message, StringComparison.Ordinal);
            Assert.Contains("video 'nope.mp4' is missing", e.Message, StringComparison.Ordinal);
        }
        finally
        {
            Directory.Delete(broken, recursive: true);
        }
    }
}
