using Concerto.Ingest.Core.Geometry;
using Concerto.Ingest.Reconstruction.Alignment;
using Concerto.Ingest.Reconstruction.Fusion;

namespace Concerto.Ingest.Reconstruction.Pipeline;

/// <summary>Fusion settings of a profile's reconstruct section.</summary>
/// <param name="VoxelSize">Fusion grid in the reconstructor's units (metres for posed captures; VGGT's scale is about
/// unit mean depth, so the same value is a comparable fraction of the scene).</param>
/// <param name="NormalRadiusVoxels">Neighbourhood radius for normals, in voxels.</param>
public sealed record ReconstructionSettings(
    double VoxelSize,
    double NormalRadiusVoxels,
    ConfidenceFilterSettings Confidence,
    GravityAlignmentSettings Gravity,
    SceneNormalisationSettings Normalisation)
{
    public static ReconstructionSettings Default { get; } =
        new(0.02, 2.5, new ConfidenceFilterSettings(), new GravityAlignmentSettings(), new SceneNormalisationSettings());
}

/// <summary>Per-frame figures kept as quality metrics.</summary>
public sealed record FrameMetrics(int FrameIndex, int ValidPixels, int KeptPixels, float? ConfidenceP10, float? ConfidenceP50, float? ConfidenceP90);

public sealed record ReconstructionMetrics(
    int Frames, long PointsUnprojected, int Points, int NormalFallbacks, bool FloorFound, double? FloorTiltDegrees, string? FloorFailure,
    double Scale, IReadOnlyList<FrameMetrics> PerFrame);

/// <summary>The fused cloud in the scene frame (z up, floor at 0, min corner at 0, normalised scale) with the keyframe
/// cameras in the same frame, and <see cref="ToScene"/>, the similarity from the reconstructor's world to it.</summary>
public sealed record ReconstructionResult(FusedCloud Cloud, IReadOnlyList<ReconstructedView> Views, Sim3 ToScene, string Method,
    string? ModelHash, ReconstructionMetrics Metrics);

/// <summary>From a reconstructor's frames to a scene cloud: confidence filter, voxel fusion, normals toward the cameras,
/// floor levelling, normalisation; cameras carried along.</summary>
public static class ReconstructionPipeline
{
    /// <summary>Runs the chain; <paramref name="framesDone"/> hears the number of keyframes fused so far, and
    /// <paramref name="onFrame"/> sees each frame as it streams by (to store per-frame depth without keeping it; it may
    /// run on several threads at once, for different frames).</summary>
    public static async Task<ReconstructionResult> RunAsync(IReconstructor reconstructor, IReadOnlyList<KeyframeRef> keyframes,
        ReconstructionSettings settings, CancellationToken cancellationToken, IProgress<int>? framesDone = null,
        Action<ReconstructedView, DepthFrame>? onFrame = null)
    {
        ArgumentNullException.ThrowIfNull(reconstructor);
        ArgumentNullException.ThrowIfNull(settings);
        var fusion = new VoxelFusion(new VoxelFusionSettings(settings.VoxelSize));
        var views = new List<ReconstructedView>();
        var perFrame = new List<FrameMetrics>();

        // Each frame's confidence filter and onFrame run on the thread pool, a few frames ahead of fusion, which takes
        // them in arrival order (so the cloud does not depend on scheduling).
        var ahead = new Queue<Task<Filtered>>();
        void Fuse(Filtered f)
        {
            fusion.Add(f.Frame, f.Keep);
            views.Add(f.View);
            perFrame.Add(new FrameMetrics(f.View.FrameIndex, f.Result.Valid, f.Result.Kept, f.Result.P10, f.Result.P50, f.Result.P90));
            framesDone?.Report(views.Count);
        }

        try
        {
            await foreach (var (view, frame) in reconstructor.ReconstructAsync(keyframes, cancellationToken).ConfigureAwait(false))
            {
                ahead.Enqueue(Task.Run(() =>
                {
                    var keep = new bool[frame.Depth.Length];
                    var result = ConfidenceFilter.Apply(frame, settings.Confidence, keep);
                    onFrame?.Invoke(view, frame);
                    return new Filtered(view, frame, keep, result);
                }, cancellationToken));
                while (ahead.Count > Environment.ProcessorCount) Fuse(await ahead.Dequeue().ConfigureAwait(false));
            }

            while (ahead.Count > 0) Fuse(await ahead.Dequeue().ConfigureAwait(false));
        }
        finally
        {
            // On failure, let frames still being filtered or written finish before the caller cleans up.
            await Task.WhenAll(ahead.Select(t => t.ContinueWith(_ => { }, TaskScheduler.Default))).ConfigureAwait(false);
        }

        if (views.Count == 0) throw new InvalidOperationException("the reconstructor produced no frames");
        var cloud = fusion.ToCloud();
        // Cameras but no surface (depth that agrees between no two views, as on a flat moving picture): no scene, and
        // the next reconstructor may still find one.
        if (cloud.Count == 0)
            throw new NotReconstructableException($"{views.Count} keyframes posed, but no depth survived the confidence filter and fusion " +
                                                  "(no surface seen consistently from several views)");
        var fallbacks = NormalEstimation.Estimate(cloud,
            new NormalEstimationSettings(settings.VoxelSize * settings.NormalRadiusVoxels), cancellationToken);

        // Hand-held cameras are roughly upright: their mean "up" (minus OpenCV y) is the gravity guess.
        var up = views.Aggregate(V3.Zero, (sum, v) => sum + GravityAlignment.UpFromOpenCvCamera(v.CameraToWorld));
        var floor = GravityAlignment.FindFloor(cloud, up, settings.Gravity);
        var levelling = floor.Found ? floor.Transform : Levelling(up);
        var toScene = SceneNormalisation.Apply(cloud, levelling, settings.Normalisation);
        var sceneViews = views.Select(v => v with { CameraToWorld = toScene.TransformCamera(v.CameraToWorld) }).ToList();

        var metrics = new ReconstructionMetrics(views.Count, fusion.PointsAdded, cloud.Count, fallbacks, floor.Found,
            floor.Found ? floor.Floor.TiltDegrees : null, floor.Failure, toScene.Scale, perFrame);
        return new ReconstructionResult(cloud, sceneViews, toScene, reconstructor.Method, reconstructor.ModelHash, metrics);
    }

    private sealed record Filtered(ReconstructedView View, DepthFrame Frame, bool[] Keep, ConfidenceFilterResult Result);

    /// <summary>Without a floor, level by the cameras' mean up direction alone.</summary>
    private static RigidTransform Levelling(V3 up) => new(GravityAlignment.RotationTo(up.Normalized, V3.UnitZ), V3.Zero);
}
