using Concerto.Ingest.Core.Profiles;
using Concerto.Ingest.Reconstruction.Classic.Sfm;
using Concerto.Ingest.Reconstruction.Classic.Stereo;

namespace Concerto.Ingest.Reconstruction.Classic;

/// <summary>Settings of the `classic` reconstructor. Distances (neighbour baselines) are in its world units: the
/// structure-from-motion world scaled so the median depth of the sparse points is 1, like VGGT's, so a profile's voxel
/// size means about the same for both.</summary>
/// <param name="Stereo">The plane sweep, used when <paramref name="PatchMatch"/> is null.</param>
/// <param name="PatchMatch">PatchMatch stereo (null: the plane sweep).</param>
/// <param name="MinKeyframes">Fewer keyframes than this are not reconstructed.</param>
/// <param name="MinRegisteredFraction">Structure from motion must register at least this share of the keyframes.</param>
/// <param name="TrackingFps">Rate at which feature tracks follow the video between keyframes (when it is given).</param>
/// <param name="SfmFps">Video frames join structure from motion as extra images wherever keyframes are sparser than this
/// (when the video is given); only keyframes get depth.</param>
/// <param name="Matching">SIFT tracks between keyframes up to a set gap apart, added to the optical-flow tracks so
/// distant keyframes constrain each other directly (null: flow tracks only).</param>
public sealed record ClassicSettings(
    SfmSettings Sfm,
    PlaneSweepSettings Stereo,
    PatchMatchSettings? PatchMatch,
    NeighbourSettings Neighbours,
    ConsistencySettings Consistency,
    int MinKeyframes = 3,
    double MinRegisteredFraction = 0.5,
    double TrackingFps = 10,
    double SfmFps = 5,
    DescriptorMatchSettings? Matching = null)
{
    public static ClassicSettings Default { get; } = new(
        SfmSettings.Default,
        PlaneSweepSettings.Default,
        null,
        new NeighbourSettings(Count: 4, MaxFrameGap: 12, MinBaseline: 0.02, MaxBaseline: 0.3, MaxViewAngleDegrees: 35),
        ConsistencySettings.Default with { MinConsistentViews = 2 },
        Matching: DescriptorMatchSettings.Default);

    /// <summary>The defaults with a profile's stereo settings.</summary>
    public static ClassicSettings For(StereoSettings stereo)
    {
        ArgumentNullException.ThrowIfNull(stereo);
        return Default with
        {
            Stereo = Default.Stereo with { MaxSide = stereo.MaxSide, Depths = stereo.Depths },
            PatchMatch = stereo.Method == StereoMethod.PatchMatch
                ? PatchMatchSettings.Default with { MaxSide = stereo.MaxSide, Iterations = stereo.Iterations }
                : null,
            Consistency = Default.Consistency with { MinConsistentViews = stereo.MinConsistentViews },
        };
    }
}
