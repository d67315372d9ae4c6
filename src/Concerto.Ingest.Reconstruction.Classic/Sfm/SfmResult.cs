using Concerto.Ingest.Core.Geometry;

namespace Concerto.Ingest.Reconstruction.Classic.Sfm;

/// <summary>One registered image: its index in the input list and its camera-to-world pose (OpenCV axes).</summary>
public sealed record SfmCamera(int ImageIndex, string ImagePath, RigidTransform CameraToWorld, int Observations);

/// <summary>A sparse point and how many registered images observe it.</summary>
public sealed record SfmPoint(V3 Position, int Observations);

/// <summary>Cameras (in the frame of the first image of the initial pair, scale set by that pair's baseline = 1),
/// shared intrinsics, sparse points, and the images that could not be registered.</summary>
public sealed record SfmResult(
    PinholeIntrinsics Intrinsics,
    IReadOnlyList<SfmCamera> Cameras,
    IReadOnlyList<SfmPoint> Points,
    IReadOnlyList<int> UnregisteredImages,
    double RmsReprojectionError,
    bool FocalEstimated)
{
    public double RegisteredFraction => Cameras.Count / (double)Math.Max(1, Cameras.Count + UnregisteredImages.Count);
}
