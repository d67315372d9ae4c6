using System.Runtime.CompilerServices;
using Concerto.Ingest.Core.Media;
using Concerto.Ingest.Reconstruction.Alignment;
using Concerto.Ingest.Reconstruction.Fusion;
using Concerto.Ingest.Reconstruction.Pipeline;
using OpenCvSharp;

namespace Concerto.Ingest.Reconstruction.Vggt;

/// <summary>The `vggt` reconstructor over a run's keyframe images: windows of <paramref name="windowSize"/> keyframes
/// overlapping by <paramref name="overlap"/> (long videos exceed what one VGGT pass handles well), each window one
/// ONNX Runtime call, windows stitched into the first one's world by robust Sim(3) on their shared frames. Fuses depth +
/// cameras, or the point-map head when the model's settings ask for it (<see cref="VggtSettings.UsePointMap"/>).</summary>
public sealed class VggtKeyframeReconstructor : IReconstructor
{
    private readonly VggtModel _model;
    private readonly int _windowSize;
    private readonly int _overlap;
    private readonly WindowStitcher _stitcher = new();

    public VggtKeyframeReconstructor(VggtModel model, int windowSize, int overlap)
    {
        ArgumentNullException.ThrowIfNull(model);
        if (windowSize < 2 || overlap < 1 || overlap >= windowSize)
            throw new ArgumentException($"window size {windowSize} and overlap {overlap}: need 2 <= window and 1 <= overlap < window");
        _model = model;
        _windowSize = model.FixedFrames ?? windowSize;
        _overlap = Math.Min(overlap, _windowSize - 1);
    }

    public string Method => "vggt";

    public string? ModelHash => _model.ModelHash;

    /// <summary>How each window was placed (residuals are quality metrics).</summary>
    public IReadOnlyList<WindowAlignment> WindowAlignments => _stitcher.Alignments;

    /// <summary>Where the time went, over all windows (see <see cref="VggtTiming"/>).</summary>
    public VggtTiming Timing { get; private set; } = new(TimeSpan.Zero, TimeSpan.Zero, TimeSpan.Zero, 0);

    /// <summary>Yields each keyframe once, in the first window's world. While the caller consumes (fuses) window k, window
    /// k+1 is already loading and running, so a GPU is not left waiting on the CPU's share of the stage.</summary>
    public async IAsyncEnumerable<(ReconstructedView View, DepthFrame Frame)> ReconstructAsync(IReadOnlyList<KeyframeRef> keyframes,
        [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(keyframes);
        var vggt = new VggtReconstructor(_model);
        var batches = Windows(keyframes);
        var pointMap = _model.Settings.UsePointMap;
        var emitted = new HashSet<int>();
        Task<VggtWindow>? next = batches.Count > 0 ? Task.Run(() => Run(vggt, batches[0], cancellationToken), cancellationToken) : null;
        try
        {
            for (var k = 0; k < batches.Count; k++)
            {
                var window = await next!.ConfigureAwait(false);
                next = k + 1 < batches.Count ? Task.Run(() => Run(vggt, batches[k + 1], cancellationToken), cancellationToken) : null;

                var batch = batches[k];
                var global = _stitcher.Add(window.Frames.Select((f, i) => (batch[i].FrameIndex, f.ForFusion(pointMap))).ToList());
                for (var i = 0; i < global.Count; i++)
                {
                    if (!emitted.Add(global[i].FrameIndex)) continue;
                    var frame = global[i].Frame;
                    // The view's intrinsics are in the keyframe's own pixels (resize and crop/pad undone); the depth frame
                    // keeps the network grid's.
                    var keyframeIntrinsics = window.Frames[i].OriginalCamera.Intrinsics;
                    yield return (new ReconstructedView(batch[i].FrameIndex, batch[i].Time, frame.CameraToWorld, keyframeIntrinsics), frame);
                }
            }
        }
        finally
        {
            // An abandoned enumeration still waits for the window in flight: it uses the session and the input buffer.
            if (next is not null) await Task.WhenAny(next).ConfigureAwait(false);
        }
    }

    /// <summary>Windows of the window size stepping by (size - overlap); the last one ends at the last keyframe.</summary>
    private List<List<KeyframeRef>> Windows(IReadOnlyList<KeyframeRef> keyframes)
    {
        var windows = new List<List<KeyframeRef>>();
        for (var start = 0; start < keyframes.Count; start += _windowSize - _overlap)
        {
            var batch = keyframes.Skip(start).Take(_windowSize).ToList();
            if (batch.Count < 2 && start > 0) break; // the previous window already covered it
            windows.Add(batch);
            if (start + _windowSize >= keyframes.Count) break;
        }

        return windows;
    }

    private VggtWindow Run(VggtReconstructor vggt, List<KeyframeRef> batch, CancellationToken cancellationToken)
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var images = batch.AsParallel().AsOrdered().WithCancellation(cancellationToken).Select(k => RgbFrame.Read(k.ImagePath)).ToList();
        var loading = clock.Elapsed;
        var window = vggt.Reconstruct(images, cancellationToken);
        var t = Timing;
        Timing = new VggtTiming(t.Loading + loading, t.Inference + window.InferenceTime, t.Window + window.TotalTime, t.Windows + 1);
        return window;
    }
}

/// <summary>Time in keyframe image loading, inside InferenceSession.Run, and in whole window calls (preprocessing, Run,
/// output decoding), summed over <see cref="Windows"/> windows.</summary>
public sealed record VggtTiming(TimeSpan Loading, TimeSpan Inference, TimeSpan Window, int Windows);
