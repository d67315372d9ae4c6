using System.Text.Json;
using Concerto.Ingest.Core.Captures;
using Concerto.Ingest.Media.Ffmpeg;
using Concerto.Ingest.Synthetic.Capture;
using Concerto.Ingest.Core.Geometry;
using Concerto.Ingest.Synthetic.Scenes;
using OpenCvSharp;

namespace Concerto.Ingest.Synthetic.Tests;

/// <summary>One capture rendered by the real writer (and encoded by the real ffmpeg), shared by a test class, read
/// back the way a consumer would: capture.json, PNGs, npy arrays.</summary>
public sealed class RenderedCapture : IAsyncLifetime
{
    public static readonly SynthSettings Settings = new(Seed: 7, Frames: 24, Width: 320, Height: 240, Fps: 10, FovDegrees: 70, Points: 60_000);

    public string Folder { get; } = Directory.CreateTempSubdirectory("concerto-synth-").FullName;
    public CaptureManifest Manifest { get; private set; } = null!;
    public Scene Scene { get; } = SceneGenerator.Generate(Settings.Seed);
    public GroundTruthCloud Cloud { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        await new SyntheticCaptureWriter(FfmpegTools.Locate()).WriteAsync(Settings, Folder, null, CancellationToken.None);
        Manifest = JsonSerializer.Deserialize<CaptureManifest>(await File.ReadAllTextAsync(Path.Combine(Folder, CaptureManifest.FileName)),
            CaptureManifest.JsonOptions)!;
        Cloud = GroundTruthCloud.Sample(Scene, Settings.Points, Settings.Seed);
    }

    public Task DisposeAsync()
    {
        Directory.Delete(Folder, recursive: true);
        return Task.CompletedTask;
    }

    public PinholeIntrinsics Intrinsics =>
        new(Manifest.Width, Manifest.Height, Manifest.Intrinsics.Fx, Manifest.Intrinsics.Fy, Manifest.Intrinsics.Cx, Manifest.Intrinsics.Cy);

    public RigidTransform CameraToWorld(int frame) => RigidTransform.FromMatrix4(Manifest.Frames[frame].CameraToWorld);

    /// <summary>Depth in metres from the saved 16-bit PNG.</summary>
    public double[,] Depth(int frame)
    {
        using var image = Cv2.ImRead(Path.Combine(Folder, Manifest.Depth.Folder, $"{frame:D6}.png"), ImreadModes.Unchanged);
        Assert.Equal(MatType.CV_16UC1, image.Type());
        int rows = image.Rows, cols = image.Cols;
        image.GetArray(out ushort[] raw);
        var depth = new double[rows, cols];
        for (var v = 0; v < rows; v++)
        for (var u = 0; u < cols; u++)
            depth[v, u] = raw[v * cols + u] / Manifest.Depth.UnitsPerMetre!.Value;
        return depth;
    }

    public byte[,] Semantic(int frame)
    {
        using var image = Cv2.ImRead(Path.Combine(Folder, Manifest.Semantic!.Folder, $"{frame:D6}.png"), ImreadModes.Unchanged);
        int rows = image.Rows, cols = image.Cols;
        image.GetArray(out byte[] raw);
        var labels = new byte[rows, cols];
        for (var v = 0; v < rows; v++)
        for (var u = 0; u < cols; u++)
            labels[v, u] = raw[v * cols + u];
        return labels;
    }

    /// <summary>World point seen at pixel (u, v) of a frame, from the saved depth, intrinsics and pose.</summary>
    public V3 Unproject(int frame, double[,] depth, int u, int v) =>
        CameraToWorld(frame).Apply(Intrinsics.Ray(u, v) * depth[v, u]);
}
