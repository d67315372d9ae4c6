using Concerto.Ingest.Core.Geometry;
using Concerto.Ingest.Media.Ffmpeg;
using Concerto.Ingest.Reconstruction.Alignment;
using Concerto.Ingest.Reconstruction.Evaluation;
using Concerto.Ingest.Reconstruction.Fusion;
using Concerto.Ingest.Reconstruction.Posed;
using Concerto.Ingest.Synthetic.Capture;

namespace Concerto.Ingest.Reconstruction.Tests.Alignment;

/// <summary>Windows of a synthetic capture, each moved into its own world by a random Sim(3) (as separate VGGT runs
/// would be), then stitched: the trajectory and the depth must come back as the truth, up to one global similarity.</summary>
public sealed class WindowStitcherTests : IAsyncLifetime
{
    private static readonly SynthSettings Settings = new(Seed: 8, Frames: 40, Width: 160, Height: 120, Fps: 10, Points: 100);
    private readonly string _folder = Directory.CreateTempSubdirectory("concerto-stitch-").FullName;
    private List<(int Index, DepthFrame Frame)> _truth = [];

    public async Task InitializeAsync()
    {
        var tools = FfmpegTools.Locate();
        await new SyntheticCaptureWriter(tools).WriteAsync(Settings, _folder, null, CancellationToken.None);
        var reader = new CaptureReader(tools);
        await foreach (var frame in reader.ReadAsync(_folder, CaptureReader.Load(_folder), null, CancellationToken.None)) _truth.Add(frame);
    }

    public Task DisposeAsync()
    {
        Directory.Delete(_folder, recursive: true);
        return Task.CompletedTask;
    }

    [Fact]
    public void Add_RecoversTrajectory_WhenEachWindowIsInARandomSimilarityFrame()
    {
        const int window = 8, overlap = 3;
        var rng = new Random(21);
        var stitcher = new WindowStitcher();
        var stitched = new Dictionary<int, DepthFrame>();
        for (var start = 0; start < _truth.Count - overlap; start += window - overlap)
        {
            var perturbation = RandomGeometry.Similarity(rng);
            var frames = _truth.Skip(start).Take(window).Select(t => (t.Index, WindowStitcher.Transform(t.Frame, perturbation))).ToList();
            foreach (var (index, frame) in stitcher.Add(frames)) stitched[index] = frame;
        }

        Assert.True(stitcher.Alignments.Count >= 7);
        var order = stitched.Keys.Order().ToList();
        Assert.Equal(_truth.Count, order.Count);
        var alignment = ReconstructionEvaluation.AlignCameras(
            order.Select(i => stitched[i].CameraToWorld.T).ToList(),
            order.Select(i => _truth[i].Frame.CameraToWorld.T).ToList());
        // Depth in the capture is quantised to 1 mm; the stitched trajectory has to agree to well under that.
        Assert.True(alignment.MaxPositionError < 0.001, $"worst camera {alignment.MaxPositionError * 1000:0.000} mm");
        Assert.All(stitcher.Alignments.Skip(1), a => Assert.True(a.Pairs > 500, $"window {a.Window}: {a.Pairs} pairs"));

        // Depth scaled consistently too: a stitched frame's depth times the global scale is the true depth.
        var i0 = order[^1];
        var ratio = _truth[i0].Frame.Depth[6000] / stitched[i0].Depth[6000];
        Assert.Equal(alignment.EstimatedToTruth.Scale, ratio, 3);
    }

    [Fact]
    public void Add_Throws_WhenWindowsDoNotOverlap()
    {
        var stitcher = new WindowStitcher();
        stitcher.Add(_truth.Take(4).ToList());
        var e = Assert.Throws<InvalidOperationException>(() => stitcher.Add(_truth.Skip(4).Take(4).ToList()));
        Assert.Contains("shares no frame", e.Message, StringComparison.Ordinal);
    }
}
