using Concerto.Ingest.Core.Geometry;
using Concerto.Ingest.Reconstruction.Fusion;

namespace Concerto.Ingest.Reconstruction.Pipeline;

/// <summary>A keyframe of a run: its frame index and time in the video, and its image file.</summary>
public sealed record KeyframeRef(int FrameIndex, double Time, string ImagePath);

/// <summary>A keyframe's camera in the reconstruction's world (OpenCV axes). Intrinsics are for an image that the keyframe
/// image is a plain resize of (the keyframe itself for VGGT, the capture frame for posed captures): scale them by the size
/// ratio, centre convention, to get keyframe pixels.</summary>
public sealed record ReconstructedView(int FrameIndex, double Time, RigidTransform CameraToWorld, PinholeIntrinsics Intrinsics);

/// <summary>Lifts keyframes to cameras and depth. Frames are streamed, so fusion never holds a whole video's depth maps.
/// Implementations: posed captures (cameras and depth known), VGGT through ONNX Runtime.</summary>
public interface IReconstructor
{
    /// <summary>"posed", "vggt", ...: recorded with the reconstruction.</summary>
    string Method { get; }

    /// <summary>SHA-256 of the model file that produced the depth (licence provenance); null when no model was used.</summary>
    string? ModelHash { get; }

    IAsyncEnumerable<(ReconstructedView View, DepthFrame Frame)> ReconstructAsync(IReadOnlyList<KeyframeRef> keyframes, CancellationToken cancellationToken);
}
