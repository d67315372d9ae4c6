using System.Diagnostics;
using System.Runtime.CompilerServices;
using Concerto.Ingest.Core.Geometry;
using Concerto.Ingest.Core.Media;
using Concerto.Ingest.Media.Decode;
using Concerto.Ingest.Media.Ffmpeg;
using Concerto.Ingest.Reconstruction.Classic.Sfm;
using Concerto.Ingest.Reconstruction.Classic.Stereo;
using Concerto.Ingest.Reconstruction.Fusion;
using Concerto.Ingest.Reconstruction.Pipeline;
using Concerto.Ingest.Reconstruction.Vggt;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using OpenCvSharp;
using LogLevel = Microsoft.Extensions.Logging.LogLevel;

namespace Concerto.Ingest.Reconstruction.Classic;

/// <summary>What the classic reconstructor did: structure-from-motion figures and where the time went.</summary>
/// <param name="SfmImages">Images structure from motion worked on: the keyframes and the video frames added between them.</param>
/// <param name="SfmRegistered">How many of those it registered.</param>
public sealed record ClassicReport(
    int Keyframes, int Registered, IReadOnlyList<int> UnregisteredFrames, int SfmImages, int SfmRegistered, int SparsePoints, int DescriptorTracks,
    double RmsReprojectionPixels, double FocalPixels, bool FocalEstimated, double SfmSeconds, double StereoSeconds, int FramesWithoutNeighbours);

/// <summary>The video the keyframes were taken from, decoded again so feature tracks can follow every few frames between
/// keyframes (keyframes alone are often too far apart for optical flow).</summary>
public sealed record TrackingVideo(string Path, FfmpegTools Tools);

/// <summary>The weights-free `classic` reconstructor: incremental structure from motion over the keyframes (cameras,
/// one shared focal length, sparse points; tracks carried through the video between keyframes when it is given), then for each registered keyframe a plane sweep against its neighbours
/// (depth range from the sparse points it sees) and a geometric consistency check against the neighbours' depth maps.
/// Frames stream out in keyframe order as soon as their neighbours' depth is known, so only a sliding window of images
/// and depth maps is held. Keyframes that structure from motion cannot register are left out (and reported).</summary>
public sealed partial class ClassicReconstructor : IReconstructor
{
    private readonly ClassicSettings _settings;
    private readonly double? _fovDegrees;
    private readonly TrackingVideo? _video;
    private readonly ILogger _logger;

    /// <param name="fovDegrees">The camera's horizontal field of view when known (metadata); null estimates the focal length.</param>
    /// <param name="video">The keyframes' video, to track features through the frames between them; null tracks
    /// from keyframe to keyframe.</param>
    public ClassicReconstructor(ClassicSettings settings, double? fovDegrees, TrackingVideo? video = null, ILogger? logger = null)
    {
        ArgumentNullException.ThrowIfNull(settings);
        if (fovDegrees is <= 10 or >= 170) throw new ArgumentOutOfRangeException(nameof(fovDegrees), fovDegrees, "the field of view must lie in (10, 170) degrees");
        _settings = settings;
        _fovDegrees = fovDegrees;
        _video = video;
        _logger = logger ?? NullLogger.Instance;
    }

    public string Method => "classic";

    public string? ModelHash => null;

    /// <summary>A diagnostic, not for ingest: the camera-to-world of the video frame with a given index (a synthetic
    /// capture's truth). When set, structure from motion triangulates and bundle-adjusts its tracks from these cameras
    /// instead of registering images one by one, so the error left is the tracks' (`bench recon --methods tracks`).</summary>
    internal Func<long, RigidTransform>? StartCameras { get; set; }

    /// <summary>Set once structure from motion has run; the stereo figures once the last frame has streamed out.</summary>
    public ClassicReport? Report { get; private set; }

    public async IAsyncEnumerable<(ReconstructedView View, DepthFrame Frame)> ReconstructAsync(IReadOnlyList<KeyframeRef> keyframes,
        [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(keyframes);
        if (keyframes.Count < _settings.MinKeyframes)
            throw new NotReconstructableException($"{keyframes.Count} keyframe(s); the classic reconstructor needs at least {_settings.MinKeyframes} " +
                                                  "(sample keyframes more densely: decode.sampling in the profile)");
        var clock = Stopwatch.StartNew();
        var (tracks, images, frames) = await TrackAsync(keyframes, cancellationToken).ConfigureAwait(false);
        var descriptorTracks = _settings.Matching is { } matching
            ? await Task.Run(() => DescriptorTracks.AddTo(tracks, images.Select((k, i) => (i, k)).Where(x => x.k >= 0).Select(x => (x.i, keyframes[x.k].ImagePath)).ToList(),
                matching, _settings.Sfm.RansacThreshold, cancellationToken), cancellationToken).ConfigureAwait(false)
            : 0;
        var (sfm, world) = await Task.Run(() => SolveCameras(keyframes, tracks, images, frames, cancellationToken), cancellationToken).ConfigureAwait(false);
        var sfmSeconds = clock.Elapsed.TotalSeconds;
        var cameras = world.Cameras;
        var registeredKeyframes = cameras.Select(c => c.ImageIndex).ToHashSet();
        var unregistered = Enumerable.Range(0, keyframes.Count).Where(i => !registeredKeyframes.Contains(i)).Select(i => keyframes[i].FrameIndex).ToList();
        Report = new ClassicReport(keyframes.Count, cameras.Count, unregistered, images.Count, sfm.Cameras.Count, world.Points.Count, descriptorTracks,
            sfm.RmsReprojectionError, sfm.Intrinsics.Fx, sfm.FocalEstimated, sfmSeconds, 0, 0);
        LogCameras(_logger, cameras.Count, keyframes.Count, world.Points.Count, sfm.RmsReprojectionError, sfm.Intrinsics.Fx,
            sfm.FocalEstimated ? "estimated" : "given", sfmSeconds);

        var stereo = new KeyframeStereo(_settings, _logger);
        await foreach (var item in stereo.StreamAsync(keyframes, world, sfm.Intrinsics, cancellationToken).ConfigureAwait(false))
        {
            Report = Report with { StereoSeconds = stereo.Seconds, FramesWithoutNeighbours = stereo.WithoutNeighbours };
            yield return item;
        }
    }

    /// <summary>Feature tracks, and for each tracked image its keyframe index (-1 for a video frame between keyframes) and
    /// video frame index.
    /// With the video: flow through it at about <see cref="ClassicSettings.TrackingFps"/>, every keyframe's own frame an
    /// image, and video frames added as images wherever keyframes are more than 1 / <see cref="ClassicSettings.SfmFps"/>
    /// apart (so registration never has to bridge a long gap). Without it, or when its frames do not line up with the
    /// keyframes: from keyframe to keyframe.</summary>
    private async Task<(FeatureTracks Tracks, List<int> KeyframeOfImage, List<long> FrameOfImage)> TrackAsync(IReadOnlyList<KeyframeRef> keyframes, CancellationToken cancellationToken)
    {
        var paths = keyframes.Select(k => k.ImagePath).ToList();
        var keyframesOnly = Enumerable.Range(0, keyframes.Count).ToList();
        var keyframeFrames = keyframes.Select(k => (long)k.FrameIndex).ToList();
        if (_video is null || SfmImageSchedule.FrameRate(keyframes) is not { } rate)
            return (await Task.Run(() => FeatureTracks.Build(paths, _settings.Sfm, cancellationToken), cancellationToken).ConfigureAwait(false), keyframesOnly,
                keyframeFrames);

        var first = RgbFrame.Read(paths[0]);
        var (width, height) = (first.Width, first.Height);
        var flowStep = Math.Max(1, (int)Math.Round(rate / _settings.TrackingFps));
        var schedule = new SfmImageSchedule(keyframes, Math.Max(flowStep, (int)Math.Round(rate / _settings.SfmFps)));
        var tracks = new FeatureTracks(_settings.Sfm);
        var keyframeOfImage = new List<int>();
        var frameOfImage = new List<long>();
        try
        {
            await using var reader = RawFrameReader.Start(_video.Tools, _video.Path, new FrameSize(width, height), rate, cancellationToken);
            using var gray = new Mat();
            await foreach (var frame in reader.ReadAllAsync(cancellationToken).ConfigureAwait(false))
            {
                var index = frame.Index;
                var (isImage, keyframe) = schedule.Next(index);
                if (index >= schedule.Start && (isImage || (index - schedule.Start) % flowStep == 0))
                {
                    using (var rgb = Mat.FromPixelData(height, width, MatType.CV_8UC3, frame.Address)) Cv2.CvtColor(rgb, gray, ColorConversionCodes.RGB2GRAY);
                    tracks.Add(gray, isImage, $"{_video.Path} frame {index}");
                    if (isImage)
                    {
                        keyframeOfImage.Add(keyframe);
                        frameOfImage.Add(index);
                    }
                }

                reader.Recycle(frame);
                if (index >= schedule.End) break;
            }
        }
        finally
        {
            tracks.Finish();
        }

        if (keyframeOfImage.Count(k => k >= 0) == keyframes.Count) return (tracks, keyframeOfImage, frameOfImage);
        LogTrackingFallback(_logger, _video.Path, keyframeOfImage.Count(k => k >= 0), keyframes.Count);
        return (await Task.Run(() => FeatureTracks.Build(paths, _settings.Sfm, cancellationToken), cancellationToken).ConfigureAwait(false), keyframesOnly,
            keyframeFrames);
    }

    /// <summary>Structure from motion over the tracked images; <c>World</c> keeps only the keyframes' cameras (their
    /// <see cref="SfmCamera.ImageIndex"/> is the keyframe's index), scaled to unit median depth.</summary>
    private (SfmResult Sfm, SfmResult World) SolveCameras(IReadOnlyList<KeyframeRef> keyframes, FeatureTracks tracks, List<int> keyframeOfImage,
        List<long> frameOfImage, CancellationToken cancellationToken)
    {
        var paths = keyframeOfImage.Select((k, i) => k >= 0 ? keyframes[k].ImagePath : $"video image {i}").ToList();
        double? focal = null;
        if (_fovDegrees is { } fov) focal = PinholeIntrinsics.FromHorizontalFov(tracks.Width, tracks.Height, fov).Fx;

        SfmResult sfm;
        if (StartCameras is { } start)
            sfm = SfmSolver.Refine(tracks, paths, focal ?? throw new InvalidOperationException("refining from given cameras needs the focal length (a field of view)"),
                frameOfImage.Select(start).ToList(), _settings.Sfm, cancellationToken);
        else sfm = SfmSolver.Solve(tracks, paths, focal, _settings.Sfm, cancellationToken);
        if (sfm.Cameras.Count == 0)
            throw new NotReconstructableException("structure from motion found no pair of early keyframes with enough parallax and trackable " +
                                                  "texture (a camera that does not move, or a blank or purely 2-D moving picture)");
        var keyframeCameras = sfm.Cameras.Where(c => keyframeOfImage[c.ImageIndex] >= 0)
            .Select(c => c with { ImageIndex = keyframeOfImage[c.ImageIndex] }).ToList();
        if (keyframeCameras.Count < 2 || keyframeCameras.Count < _settings.MinRegisteredFraction * keyframes.Count)
            throw new NotReconstructableException($"structure from motion registered only {keyframeCameras.Count} of {keyframes.Count} keyframes " +
                                                  $"(fewer than {_settings.MinRegisteredFraction:P0}): the tracks break, e.g. fast motion between keyframes; sample keyframes more densely");
        return (sfm, KeyframeStereo.ToUnitMedianDepth(sfm with { Cameras = keyframeCameras }));
    }

    [LoggerMessage(EventId = 2305, Level = LogLevel.Information,
        Message = "Classic: structure from motion registered {Registered}/{Keyframes} keyframes, {Points} points, reprojection RMS {Rms:0.00} px, focal {Focal:0.0} px ({FocalSource}) in {Seconds:0.0} s")]
    private static partial void LogCameras(ILogger logger, int registered, int keyframes, int points, double rms, double focal, string focalSource, double seconds);

    [LoggerMessage(EventId = 2303, Level = LogLevel.Warning,
        Message = "Classic: {Path} gave {Found} of the {Keyframes} keyframes' frames when decoded again; tracking from keyframe to keyframe instead")]
    private static partial void LogTrackingFallback(ILogger logger, string path, int found, int keyframes);
}
