namespace Concerto.Ingest.Reconstruction.Classic.Sfm;

/// <summary>Settings of the structure-from-motion stage of the `classic` reconstructor.</summary>
/// <param name="MaxFeatures">Features kept alive per image (lost tracks are replaced by new corners).</param>
/// <param name="MinFeatureDistance">Minimum distance between corners, pixels.</param>
/// <param name="ForwardBackwardThreshold">Largest forward-backward optical flow disagreement kept, pixels.</param>
/// <param name="MinInitialParallax">Median track displacement the initial pair needs, as a fraction of the image width.</param>
/// <param name="MinInitialAngle">Median triangulation angle wanted of the initial pair, degrees.</param>
/// <param name="InitialSearchFrames">Early images tried as the first image of the initial pair, and images after it tried as the second.</param>
/// <param name="RansacThreshold">RANSAC inlier threshold (essential matrix, PnP), pixels.</param>
/// <param name="MaxReprojectionError">Largest reprojection error of a triangulated point or a kept observation, pixels.</param>
/// <param name="MinTriangulationAngle">Smallest angle between the rays of a new point, degrees.</param>
/// <param name="MinPnPCorrespondences">2D-3D correspondences an image needs to be registered.</param>
/// <param name="FallbackFovDegrees">Horizontal field of view assumed when no focal length is given.</param>
/// <param name="BundleIterations">Levenberg-Marquardt steps of a full bundle adjustment (at most; it stops once converged).</param>
/// <param name="BundleEvery">Run a bundle adjustment after this many newly registered images.</param>
/// <param name="HuberPixels">Huber loss threshold on the reprojection error, pixels.</param>
/// <param name="AnchoredRefinement">At each image, align every track again from its first image (against flow drift).</param>
/// <param name="AnchorAgreement">The anchored position replaces the chained one when they lie this close, pixels.</param>
public sealed record SfmSettings(
    int MaxFeatures = 2000,
    double MinFeatureDistance = 5,
    double ForwardBackwardThreshold = 1.0,
    double MinInitialParallax = 0.04,
    double MinInitialAngle = 3,
    int InitialSearchFrames = 12,
    double RansacThreshold = 1.5,
    double MaxReprojectionError = 3.0,
    double MinTriangulationAngle = 1.0,
    int MinPnPCorrespondences = 20,
    double FallbackFovDegrees = 65,
    int BundleIterations = 40,
    int BundleEvery = 5,
    double HuberPixels = 1.5,
    bool AnchoredRefinement = true,
    double AnchorAgreement = 3)
{
    public static SfmSettings Default { get; } = new();

    public void Validate()
    {
        if (MaxFeatures < 50) throw new ArgumentException($"MaxFeatures must be at least 50 (was {MaxFeatures}).");
        if (MinPnPCorrespondences < 6) throw new ArgumentException($"MinPnPCorrespondences must be at least 6 (was {MinPnPCorrespondences}).");
        if (FallbackFovDegrees is <= 10 or >= 170) throw new ArgumentException($"FallbackFovDegrees must lie in (10, 170) (was {FallbackFovDegrees}).");
        if (BundleIterations < 0 || BundleEvery < 1) throw new ArgumentException("BundleIterations must be >= 0 and BundleEvery >= 1.");
        if (RansacThreshold <= 0 || MaxReprojectionError <= 0 || HuberPixels <= 0)
            throw new ArgumentException("RansacThreshold, MaxReprojectionError and HuberPixels must be positive.");
    }
}
