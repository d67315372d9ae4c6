using System.Runtime.CompilerServices;
using Concerto.Ingest.Core.Captures;
using Concerto.Ingest.Core.Media;
using Concerto.Ingest.Reconstruction.Fusion;
using Concerto.Ingest.Reconstruction.Pipeline;

namespace Concerto.Ingest.Reconstruction.Posed;

/// <summary>The `posed` reconstructor: a capture folder already has cameras and depth, so each keyframe takes the
/// capture frame at its time (the decode stage resamples at a constant rate, so times match the capture's frames).</summary>
public sealed class PosedReconstructor(string captureFolder, CaptureManifest manifest, CaptureReader reader) : IReconstructor
{
    private readonly CaptureManifest _manifest = manifest;

    public PosedReconstructor(string captureFolder, CaptureReader reader)
        : this(captureFolder, CaptureReader.Load(captureFolder), reader)
    {
    }

    public string Method => "posed";

    public string? ModelHash => null;

    public async IAsyncEnumerable<(ReconstructedView View, DepthFrame Frame)> ReconstructAsync(IReadOnlyList<KeyframeRef> keyframes,
        [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(keyframes);
        var byCaptureFrame = new Dictionary<int, KeyframeRef>();
        foreach (var keyframe in keyframes)
        {
            var index = (int)Math.Round(keyframe.Time * _manifest.Fps);
            if (index < 0 || index >= _manifest.Frames.Count || Math.Abs(_manifest.Frames[index].Time - keyframe.Time) > 0.5 / _manifest.Fps)
                throw new BadInputException(
                    $"{Path.Combine(captureFolder, CaptureManifest.FileName)}: no capture frame at {keyframe.Time:0.###} s (keyframe {keyframe.FrameIndex}); the capture has {_manifest.Frames.Count} frames at {_manifest.Fps} fps.");
            byCaptureFrame[index] = keyframe;
        }

        await foreach (var (index, frame) in reader.ReadAsync(captureFolder, _manifest, byCaptureFrame.Keys.ToHashSet(), cancellationToken)
                           .ConfigureAwait(false))
        {
            var keyframe = byCaptureFrame[index];
            yield return (new ReconstructedView(keyframe.FrameIndex, keyframe.Time, frame.CameraToWorld, frame.Intrinsics), frame);
        }
    }
}
