using System.Text;
using Concerto.Ingest.Core.Captures;
using Concerto.Ingest.Core.Geometry;
using Concerto.Ingest.Core.Media;
using Concerto.Ingest.Media.Ffmpeg;
using Concerto.Ingest.Reconstruction.Evaluation;
using Concerto.Ingest.Reconstruction.Pipeline;
using Concerto.Ingest.Reconstruction.Posed;
using Concerto.Ingest.Synthetic.Capture;
using Concerto.Ingest.Synthetic.Scenes;

namespace Concerto.Ingest.Reconstruction.Tests.Pipeline;

/// <summary>One synthetic capture run through the posed reconstructor and the fusion chain, shared by the tests.</summary>
public sealed class PosedPipelineFixture : IAsyncLifetime
{
    public static readonly SynthSettings Settings = new(Seed: 4, Frames: 60, Width: 320, Height: 240, Fps: 10, Points: 100_000);
    public string Folder { get; } = Directory.CreateTempSubdirectory("concerto-posed-").FullName;
    public FfmpegTools Tools { get; } = FfmpegTools.Locate();
    public ReconstructionResult Result { get; private set; } = null!;
    public CaptureManifest Manifest { get; private set; } = null!;
    public List<KeyframeRef> Keyframes { get; } =
        Enumerable.Range(0, 12).Select(i => new KeyframeRef(5 * i, 5 * i / Settings.Fps, $"kf{i}.jpg")).ToList();

    public async Task InitializeAsync()
    {
        await new SyntheticCaptureWriter(Tools).WriteAsync(Settings, Folder, null, CancellationToken.None);
        Manifest = CaptureReader.Load(Folder);
        Result = await ReconstructionPipeline.RunAsync(new PosedReconstructor(Folder, new CaptureReader(Tools)), Keyframes,
            ReconstructionSettings.Default, CancellationToken.None);
    }

    public Task DisposeAsync()
    {
        Directory.Delete(Folder, recursive: true);
        return Task.CompletedTask;
    }
}

/// <summary>A synthetic capture through the posed reconstructor and the whole fusion chain, measured against the
/// scene it was rendered from.</summary>
public sealed class PosedPipelineTests(PosedPipelineFixture fixture) : IClassFixture<PosedPipelineFixture>
{
    private static readonly SynthSettings Settings = PosedPipelineFixture.Settings;
    private readonly string _folder = fixture.Folder;
    private readonly FfmpegTools _tools = fixture.Tools;
    private readonly ReconstructionResult _result = fixture.Result;
    private readonly CaptureManifest _manifest = fixture.Manifest;
    private readonly List<KeyframeRef> _keyframes = fixture.Keyframes;

    [Fact]
    public void Cameras_MatchTheCapture_AfterSimilarityAlignment()
    {
        Assert.Equal("posed", _result.Method);
        Assert.Null(_result.ModelHash);
        Assert.Equal(_keyframes.Select(k => k.FrameIndex), _result.Views.Select(v => v.FrameIndex));
        var truth = _keyframes.Select(k => RigidTransform.FromMatrix4(_manifest.Frames[k.FrameIndex].CameraToWorld).T).ToList();
        var alignment = ReconstructionEvaluation.AlignCameras(_result.Views.Select(v => v.CameraToWorld.T).ToList(), truth);
        Assert.True(alignment.RmsPositionError < 1e-6, $"camera RMS error {alignment.RmsPositionError} m");
        // The scene frame's scale is the normaliser's: z-range 3 over the room's height (floor to ceiling, when seen).
        Assert.Equal(1 / _result.ToScene.Scale, alignment.EstimatedToTruth.Scale, 6);
    }

    [Fact]
    public void Cloud_IsLevelledAndNormalised_AndLiesOnTheTrueSurfaces()
    {
        var m = _result.Metrics;
        Assert.True(m.FloorFound, m.FloorFailure);
        // The synthetic world is level: its up stays up (the reported tilt is relative to the cameras' mean up, which
        // pitches with them).
        var up = _result.ToScene.Rotation * V3.UnitZ;
        Assert.True(Math.Acos(Math.Min(1, up.Z)) * 180 / Math.PI < 0.1, $"world up tilted to {up}");
        var z = Enumerable.Range(0, _result.Cloud.Count).Select(i => _result.Cloud.Coord[3 * i + 2]).ToList();
        Assert.Equal(3.0, z.Max() - z.Min(), 4);
        Assert.Equal(0.0, Enumerable.Range(0, _result.Cloud.Count).Min(i => _result.Cloud.Coord[3 * i]), 6);

        // Back in the capture's world (metres), the fused points lie on the scene's surfaces.
        var toWorld = _result.ToScene.Inverse();
        var scene = SceneGenerator.Generate(Settings.Seed);
        var distances = Enumerable.Range(0, _result.Cloud.Count)
            .Select(i => scene.DistanceToSurface(toWorld.Apply(_result.Cloud.Point(i))))
            .Order().ToList();
        Assert.True(distances.Average() < 0.001, $"mean {distances.Average() * 1000:0.00} mm");
        Assert.True(distances[(int)(0.95 * distances.Count)] < 0.002, $"95th percentile {distances[(int)(0.95 * distances.Count)] * 1000:0.00} mm");
    }

    [Fact]
    public void Chamfer_AgainstDenseGroundTruth_IsWithinItsSampling()
    {
        var toWorld = _result.ToScene.Inverse();
        var estimated = new float[_result.Cloud.Coord.Length];
        for (var i = 0; i < _result.Cloud.Count; i++)
        {
            var p = toWorld.Apply(_result.Cloud.Point(i));
            (estimated[3 * i], estimated[3 * i + 1], estimated[3 * i + 2]) = ((float)p.X, (float)p.Y, (float)p.Z);
        }

        var truth = GroundTruthCloud.Sample(SceneGenerator.Generate(Settings.Seed), 1_000_000, Settings.Seed);
        var chamfer = ReconstructionEvaluation.Chamfer(estimated, truth.Coord, maxDistance: 0.1);
        // ~1M truth points over the room's ~150 m2: neighbours ~1.2 cm apart, so a perfect cloud scores ~0.6 cm.
        Assert.True(chamfer.Accuracy < 0.01, $"accuracy {chamfer.Accuracy * 100:0.00} cm");
        // Completeness counts surfaces the 12 keyframes never saw (each capped at 10 cm): larger, and only bounded.
        Assert.True(chamfer.Completeness < 0.1, $"completeness {chamfer.Completeness * 100:0.00} cm");
    }

    [Fact]
    public void GroundTruthEvaluation_AlignsByCameras_AndMeasuresAgainstTheCapturesCloud()
    {
        Assert.True(GroundTruthEvaluation.HasGroundTruth(_folder));
        var cameras = _result.Views.Select(v => (v.Time, v.CameraToWorld.T)).ToList();
        var report = GroundTruthEvaluation.Evaluate(_folder, cameras, _result.Cloud.Coord, maxDistance: 0.1);

        Assert.Equal((12, 100_000), (report.Cameras, report.TruthPoints));
        Assert.True(report.Alignment.RmsPositionError < 1e-6);                 // posed: the cameras are the truth's
        Assert.Equal(1 / _result.ToScene.Scale, report.Alignment.EstimatedToTruth.Scale, 6);
        // 100k truth points over ~150 m2 are ~4 cm apart: a perfect cloud's accuracy is ~2 cm against them.
        Assert.True(report.Chamfer.Accuracy < 0.03, $"accuracy {report.Chamfer.Accuracy * 100:0.00} cm");
        Assert.InRange(report.Chamfer.Completeness, report.Chamfer.Accuracy, 0.1);
    }

    [Fact]
    public void CloudFiles_WriteArraysAndPly()
    {
        var folder = Path.Combine(_folder, "out");
        CloudFiles.WriteNpy(folder, _result.Cloud);
        CloudFiles.WritePly(Path.Combine(folder, "scene.ply"), _result.Cloud);
        var ply = File.ReadAllBytes(Path.Combine(folder, "scene.ply"));
        var header = Encoding.ASCII.GetString(ply, 0, 400);
        Assert.Contains($"element vertex {_result.Cloud.Count}\n", header, StringComparison.Ordinal);
        var headerLength = header.IndexOf("end_header\n", StringComparison.Ordinal) + "end_header\n".Length;
        Assert.Equal(headerLength + 27L * _result.Cloud.Count, ply.Length);     // 6 floats + 3 bytes per point
        Assert.Equal(BitConverter.ToSingle(ply, headerLength), _result.Cloud.Coord[0]);
        Assert.Equal(128 + 12L * _result.Cloud.Count, new FileInfo(Path.Combine(folder, "coord.npy")).Length);
    }

    [Fact]
    public async Task Posed_Fails_WhenAKeyframeHasNoCaptureFrame()
    {
        var reconstructor = new PosedReconstructor(_folder, new CaptureReader(_tools));
        var e = await Assert.ThrowsAsync<BadInputException>(async () =>
        {
            await foreach (var _ in reconstructor.ReconstructAsync([new KeyframeRef(900, 90.0, "late.jpg")], CancellationToken.None))
            {
            }
        });
        Assert.Contains("capture.json: no capture frame at 90 s", e.Message, StringComparison.Ordinal);
    }
}
