using System.Diagnostics;
using System.Text.Json;
using Concerto.Ingest.Core.Profiles;
using Concerto.Ingest.Reconstruction.Classic.Colmap;
using Concerto.Ingest.Reconstruction.Fusion;
using Concerto.Ingest.Reconstruction.Pipeline;
using Concerto.Ingest.Reconstruction.Vggt;
using Microsoft.Extensions.Logging;

namespace Concerto.Ingest.Reconstruction.Classic;

/// <summary>What the reconstruct stage left in its staging folder: the scene (<see cref="Result"/>, whose cloud, PLY and
/// per-keyframe depth are written there) with its metrics, or, when no reconstructor could lift the keyframes, the reason
/// in <see cref="Skipped"/>.</summary>
public sealed record SceneOutcome(ReconstructionResult? Result, string MetricsJson, string? Skipped);

/// <summary>The reconstruct stage's work, apart from the queue and the catalogue: tries the reconstructors
/// <see cref="ReconstructorChoice"/> plans, best first (one that finds the video not reconstructable hands over to the
/// next, its partial depth removed), fuses the first that succeeds into a levelled, normalised scene cloud, and writes
/// the scene files (<see cref="CloudFiles"/>) into the staging folder.</summary>
public sealed partial class SceneReconstruction(ReconstructorSources sources, ILogger<SceneReconstruction> logger)
{
    public async Task<SceneOutcome> RunAsync(string videoPath, ReconstructSettings profile, IReadOnlyList<KeyframeRef> frames, string staging,
        IProgress<(long Done, long Total)>? progress, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(profile);
        ArgumentNullException.ThrowIfNull(frames);
        var plan = ReconstructorChoice.Plan(videoPath, profile, frames.Count, sources, logger);
        var skipped = plan.Skipped;
        foreach (var reconstructor in plan.Candidates)
        {
            try
            {
                return await ReconstructAsync(reconstructor, frames, profile, staging, progress, cancellationToken).ConfigureAwait(false);
            }
            catch (NotReconstructableException e)
            {
                // The next candidate (classic after COLMAP) may still lift it; the last one's reason is recorded.
                skipped = $"{reconstructor.Method}: {e.Message}";
                foreach (var written in new[] { "depth", "confidence" }.Select(f => Path.Combine(staging, f)).Where(Directory.Exists))
                    Directory.Delete(written, recursive: true);
                if (reconstructor != plan.Candidates[^1]) LogTryingNext(logger, videoPath, skipped);
            }
        }

        LogSkipped(logger, videoPath, skipped!);
        return new SceneOutcome(null, JsonSerializer.Serialize(new { skipped }), skipped);
    }

    private static async Task<SceneOutcome> ReconstructAsync(IReconstructor reconstructor, IReadOnlyList<KeyframeRef> frames, ReconstructSettings profile,
        string staging, IProgress<(long Done, long Total)>? progress, CancellationToken cancellationToken)
    {
        var clock = Stopwatch.StartNew();
        var settings = ReconstructionSettings.Default with
        {
            VoxelSize = profile.VoxelSize,
            Confidence = new ConfidenceFilterSettings(Percentile: profile.ConfidencePercentile),
            Normalisation = new SceneNormalisationSettings(profile.TargetZRange),
        };
        progress?.Report((0, frames.Count));
        var result = await ReconstructionPipeline.RunAsync(reconstructor, frames, settings, cancellationToken,
            new Progress<int>(n => progress?.Report((n, frames.Count))), (view, frame) => CloudFiles.WriteFrame(staging, view, frame)).ConfigureAwait(false);
        CloudFiles.WriteNpy(staging, result.Cloud);
        CloudFiles.WritePly(Path.Combine(staging, CloudFiles.PlyFile), result.Cloud);

        var metrics = JsonSerializer.Serialize(new
        {
            result.Method,
            result.Metrics.Frames,
            result.Metrics.Points,
            result.Metrics.PointsUnprojected,
            result.Metrics.NormalFallbacks,
            result.Metrics.FloorFound,
            result.Metrics.FloorTiltDegrees,
            result.Metrics.FloorFailure,
            result.Metrics.Scale,
            confidenceP50 = result.Metrics.PerFrame.Select(f => f.ConfidenceP50).ToArray(),
            windows = (reconstructor as VggtKeyframeReconstructor)?.WindowAlignments.Select(w => new { w.Window, w.Pairs, w.WeightedRmsResidual }).ToArray(),
            classic = (reconstructor as ClassicReconstructor)?.Report,
            colmap = (reconstructor as ColmapReconstructor)?.Report,
            seconds = Math.Round(clock.Elapsed.TotalSeconds, 3),
        });
        return new SceneOutcome(result, metrics, null);
    }

    [LoggerMessage(EventId = 2205, Level = LogLevel.Warning, Message = "{Path}: {Reason}; trying the next reconstructor")]
    private static partial void LogTryingNext(ILogger logger, string path, string reason);

    [LoggerMessage(EventId = 2202, Level = LogLevel.Warning, Message = "Reconstruct skipped for {Path}: {Reason}")]
    private static partial void LogSkipped(ILogger logger, string path, string reason);
}
