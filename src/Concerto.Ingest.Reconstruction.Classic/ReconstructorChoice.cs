using Concerto.Ingest.Core.Captures;
using Concerto.Ingest.Core.Media;
using Concerto.Ingest.Core.Profiles;
using Concerto.Ingest.Media.Ffmpeg;
using Concerto.Ingest.Reconstruction.Classic.Colmap;
using Concerto.Ingest.Reconstruction.Onnx;
using Concerto.Ingest.Reconstruction.Pipeline;
using Concerto.Ingest.Reconstruction.Posed;
using Concerto.Ingest.Reconstruction.Vggt;
using Microsoft.Extensions.Logging;

namespace Concerto.Ingest.Reconstruction.Classic;

/// <summary>What the machine offers the reconstruct stage: its settings (Concerto:Reconstruction: the default VGGT
/// model, the ONNX device, the COLMAP program), capture reading, ffmpeg, and VGGT models opened once per process in
/// <paramref name="VggtModels"/>.</summary>
public sealed record ReconstructorSources(ReconstructionOptions Options, CaptureReader Captures, FfmpegTools Tools, OpenModels<VggtModel> VggtModels);

/// <summary>The reconstructors to try for a video, best first: when one says the video is not reconstructable
/// (<see cref="NotReconstructableException"/>, e.g. COLMAP registers too few keyframes) the next is tried. Empty with
/// <see cref="Skipped"/> set when the stage has nothing to do.</summary>
public sealed record ReconstructorPlan(IReadOnlyList<IReconstructor> Candidates, string? Skipped);

/// <summary>Picks the reconstructor for a video from the profile's reconstruct.method. auto: posed when a capture.json
/// beside the video describes it, else vggt when a model is set, else colmap when COLMAP is installed (classic if COLMAP
/// cannot register the keyframes), else classic.</summary>
public static partial class ReconstructorChoice
{
    public static ReconstructorPlan Plan(string videoPath, ReconstructSettings profile, int keyframeCount, ReconstructorSources sources, ILogger logger)
    {
        ArgumentNullException.ThrowIfNull(profile);
        ArgumentNullException.ThrowIfNull(sources);
        ArgumentNullException.ThrowIfNull(logger);
        if (profile.Method == ReconstructMethod.None) return new ReconstructorPlan([], "the profile's reconstruct.method is none");
        if (keyframeCount == 0) return new ReconstructorPlan([], "no keyframes to reconstruct");
        var folder = Path.GetDirectoryName(Path.GetFullPath(videoPath))!;
        var manifest = File.Exists(Path.Combine(folder, CaptureManifest.FileName)) ? CaptureReader.Load(folder) : null;
        var described = manifest?.Video == Path.GetFileName(videoPath);
        if (profile.Method is ReconstructMethod.Posed or ReconstructMethod.Auto && described)
            return new ReconstructorPlan([new PosedReconstructor(folder, manifest!, sources.Captures)], null);
        if (profile.Method == ReconstructMethod.Posed)
            throw new BadInputException($"{videoPath}: the profile asks for the posed reconstructor, but no {CaptureManifest.FileName} beside it describes this video.");

        var modelPath = string.IsNullOrWhiteSpace(profile.ModelPath) ? sources.Options.VggtModel : profile.ModelPath;
        if (profile.Method is ReconstructMethod.Vggt or ReconstructMethod.Auto && !string.IsNullOrWhiteSpace(modelPath))
        {
            var vggt = new VggtSettings
            {
                ModelPath = modelPath,
                Device = OnnxModelFile.ParseDevice(sources.Options.Device),
                UsePointMap = profile.PointSource == PointSource.PointMap,
            };
            var model = sources.VggtModels.Get(modelPath, $"{vggt.Device}|{vggt.UsePointMap}", full => VggtModel.Open(vggt with { ModelPath = full }, logger));
            return new ReconstructorPlan([new VggtKeyframeReconstructor(model, profile.WindowSize, profile.Overlap)], null);
        }

        if (profile.Method == ReconstructMethod.Vggt)
            throw new BadInputException($"{videoPath}: the profile asks for VGGT, but no model is set (reconstruct.modelPath or Concerto:Reconstruction:VggtModel).");

        // Metadata: a capture's intrinsics give the field of view; otherwise structure from motion estimates it.
        var fov = profile.FovDegrees ?? (profile.Focal == FocalSource.Metadata && described
            ? 2 * Math.Atan(manifest!.Width / (2 * manifest.Intrinsics.Fx)) * 180 / Math.PI
            : null);
        var video = new TrackingVideo(videoPath, sources.Tools);
        var settings = ClassicSettings.For(profile.Stereo ?? StereoSettings.Default);
        var classic = new ClassicReconstructor(settings, fov, video, logger);
        var colmapPath = ColmapReconstructor.Find(sources.Options.ColmapPath);
        var where = string.IsNullOrWhiteSpace(sources.Options.ColmapPath)
            ? "no `colmap` is on PATH (scripts/setup.sh installs Debian's)"
            : $"{sources.Options.ColmapPath} (Concerto:Reconstruction:ColmapPath) does not exist";
        switch (profile.Method)
        {
            case ReconstructMethod.Colmap:
                return new ReconstructorPlan([new ColmapReconstructor(colmapPath ?? throw new BadInputException(
                    $"{videoPath}: the profile asks for the colmap reconstructor, but {where}."), settings, fov, logger: logger, video: video)], null);
            case ReconstructMethod.Classic:
                return new ReconstructorPlan([classic], null);
            default:
                if (colmapPath is null)
                {
                    LogClassicFallback(logger, videoPath, where);
                    return new ReconstructorPlan([classic], null);
                }

                LogColmapChosen(logger, videoPath, colmapPath);
                return new ReconstructorPlan([new ColmapReconstructor(colmapPath, settings, fov, logger: logger, video: video), classic], null);
        }
    }

    [LoggerMessage(EventId = 2203, Level = LogLevel.Information,
        Message = "{Path}: no capture.json describes it, no VGGT model is set and {Colmap}: reconstructing with the weights-free classic reconstructor (structure from motion + multi-view stereo, CPU)")]
    private static partial void LogClassicFallback(ILogger logger, string path, string colmap);

    [LoggerMessage(EventId = 2204, Level = LogLevel.Information,
        Message = "{Path}: no capture.json describes it and no VGGT model is set: reconstructing with COLMAP ({Colmap}) for the cameras and our multi-view stereo; classic if COLMAP cannot register the keyframes")]
    private static partial void LogColmapChosen(ILogger logger, string path, string colmap);
}
