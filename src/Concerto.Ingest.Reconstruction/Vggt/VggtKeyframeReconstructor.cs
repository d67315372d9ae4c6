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

    /// <summary>Time spent inside InferenceSession.Run and in total, over all windows.</summary>
    public (TimeSpan Inference, TimeSpan Total) Timing { get; private set; }

    public async IAsyncEnumerable<(ReconstructedView View, DepthFrame Frame)> ReconstructAsync(IReadOnlyList<KeyframeRef> keyframes,
        [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(keyframes);
        var vggt = new VggtReconstructor(_model);
        var emitted = new HashSet<int>();
        for (var start = 0; start < keyframes.Count; start += _windowSize - _overlap)
        {
            var batch = keyframes.Skip(start).Take(_windowSize).ToList();
            if (batch.Count < 2 && start > 0) break; // the previous window already covered it
            var images = await Task.Run(() => batch.Select(k => Load(k.ImagePath)).ToList(), cancellationToken).ConfigureAwait(false);
            var window = vggt.Reconstruct(images, cancellationToken);
            Timing = (Timing.Inference + window.InferenceTime, Timing.Total + window.TotalTime);

            var pointMap = _model.Settings.UsePointMap;
            var global = _stitcher.Add(window.Frames.Select((f, i) => (batch[i].FrameIndex, f.ForFusion(pointMap))).ToList());
            for (var i = 0; i < global.Count; i++)
            {
                if (!emitted.Add(global[i].FrameIndex)) continue;
                var frame = global[i].Frame;
                yield return (new ReconstructedView(batch[i].FrameIndex, batch[i].Time, frame.CameraToWorld, frame.Intrinsics), frame);
            }

            if (start + _windowSize >= keyframes.Count) break;
        }
    }

    private static RgbFrame Load(string path)
    {
        using var bgr = Cv2.ImRead(path, ImreadModes.Color);
        if (bgr.Empty()) throw new BadInputException($"{path}: keyframe image is missing or unreadable.");
        using var rgb = new Mat();
        Cv2.CvtColor(bgr, rgb, ColorConversionCodes.BGR2RGB);
        int width = rgb.Cols, height = rgb.Rows;
        rgb.GetArray(out Vec3b[] pixels);
        var bytes = new byte[3 * pixels.Length];
        for (var i = 0; i < pixels.Length; i++) (bytes[3 * i], bytes[3 * i + 1], bytes[3 * i + 2]) = (pixels[i].Item0, pixels[i].Item1, pixels[i].Item2);
        return new RgbFrame(width, height, bytes);
    }
}
