using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Globalization;
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

namespace Concerto.Ingest.Reconstruction.Classic.Colmap;

/// <summary>What the COLMAP reconstructor did.</summary>
/// <param name="RelaxedInitialisation">The default mapper built no model or too small a one, and the retry with a
/// video-friendly initial pair was kept.</param>
/// <param name="VideoImages">Video frames that joined the keyframes in the kept model (0: keyframes alone).</param>
public sealed record ColmapReport(string Version, int Keyframes, int Registered, int SparsePoints, double FocalPixels, bool FocalEstimated,
    bool RelaxedInitialisation, int VideoImages, double SfmSeconds, double StereoSeconds, int FramesWithoutNeighbours);

/// <summary>The `colmap` reconstructor: sparse structure from motion by the COLMAP program (SIFT on the CPU, exhaustive
/// matching, incremental mapper, one shared pinhole camera) over the keyframes, then our plane-sweep stereo
/// (<see cref="KeyframeStereo"/>) on COLMAP's cameras. Each COLMAP step runs under a time limit; a failing or hanging
/// step ends the reconstruction with the tail of its log. Works in a scratch folder it deletes.</summary>
public sealed partial class ColmapReconstructor : IReconstructor
{
    private readonly string _colmap;
    private readonly ClassicSettings _settings;
    private readonly double? _fovDegrees;
    private readonly TimeSpan _stepTimeout;
    private readonly ILogger _logger;
    private readonly TrackingVideo? _video;

    /// <param name="colmap">The COLMAP executable (a path, or a name on PATH).</param>
    /// <param name="fovDegrees">The camera's horizontal field of view when known: COLMAP then keeps that focal length fixed.</param>
    /// <param name="video">The keyframes' video: when the keyframes alone register too few, its frames join them as images
    /// wherever keyframes are sparser than <see cref="ClassicSettings.SfmFps"/>, as for classic (null: keyframes only).</param>
    public ColmapReconstructor(string colmap, ClassicSettings settings, double? fovDegrees, TimeSpan? stepTimeout = null, ILogger? logger = null,
        TrackingVideo? video = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(colmap);
        ArgumentNullException.ThrowIfNull(settings);
        (_colmap, _settings, _fovDegrees, _stepTimeout, _logger, _video) =
            (colmap, settings, fovDegrees, stepTimeout ?? TimeSpan.FromMinutes(30), logger ?? NullLogger.Instance, video);
    }

    public string Method => "colmap";

    public string? ModelHash => null;

    public ColmapReport? Report { get; private set; }

    /// <summary>The COLMAP on this machine: <paramref name="configured"/> when given (it must exist), else `colmap` on
    /// PATH; null when there is none.</summary>
    public static string? Find(string? configured)
    {
        if (!string.IsNullOrWhiteSpace(configured)) return File.Exists(configured) ? Path.GetFullPath(configured) : null;
        return ToolProcess.FindOnPath("colmap");
    }

    public async IAsyncEnumerable<(ReconstructedView View, DepthFrame Frame)> ReconstructAsync(IReadOnlyList<KeyframeRef> keyframes,
        [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(keyframes);
        if (keyframes.Count < _settings.MinKeyframes)
            throw new NotReconstructableException($"{keyframes.Count} keyframe(s); the colmap reconstructor needs at least {_settings.MinKeyframes} " +
                                                  "(sample keyframes more densely: decode.sampling in the profile)");
        var clock = Stopwatch.StartNew();
        var scratch = Directory.CreateTempSubdirectory("concerto-colmap-").FullName;
        try
        {
            var (world, intrinsics, version, relaxed, videoImages) = await SolveAsync(keyframes, scratch, cancellationToken).ConfigureAwait(false);
            var sfmSeconds = clock.Elapsed.TotalSeconds;
            Report = new ColmapReport(version, keyframes.Count, world.Cameras.Count, world.Points.Count, intrinsics.Fx, _fovDegrees is null, relaxed, videoImages,
                sfmSeconds, 0, 0);
            LogCameras(_logger, version, world.Cameras.Count, keyframes.Count, world.Points.Count, intrinsics.Fx, sfmSeconds);

            var stereo = new KeyframeStereo(_settings, _logger);
            await foreach (var item in stereo.StreamAsync(keyframes, world, intrinsics, cancellationToken).ConfigureAwait(false))
            {
                Report = Report with { StereoSeconds = stereo.Seconds, FramesWithoutNeighbours = stereo.WithoutNeighbours };
                yield return item;
            }
        }
        finally
        {
            Directory.Delete(scratch, recursive: true);
        }
    }

    /// <summary>Runs COLMAP over the keyframes and returns their cameras and the sparse points in a world of unit median
    /// depth. Keyframes alone first (what COLMAP is best at: every pair matched); when that misses more than a tenth of them
    /// (a fast turn between two), again with the video frames between keyframes added, and the model that
    /// registers more keyframes is kept.</summary>
    private async Task<(SfmResult World, PinholeIntrinsics Intrinsics, string Version, bool RelaxedInitialisation, int VideoImages)> SolveAsync(
        IReadOnlyList<KeyframeRef> keyframes, string scratch, CancellationToken cancellationToken)
    {
        var version = (await RunAsync(["help"], cancellationToken, allowFailure: true).ConfigureAwait(false)).Stdout
            .Split('\n').Select(l => l.Trim()).FirstOrDefault(l => l.StartsWith("COLMAP", StringComparison.Ordinal)) ?? "COLMAP (version unknown)";
        var enough = _settings.MinRegisteredFraction * keyframes.Count;
        var best = await MapImagesAsync(keyframes, Path.Combine(scratch, "keyframes"), withVideo: false, cancellationToken).ConfigureAwait(false);
        // Video frames can bridge a gap between keyframes (a fast turn) that leaves their model short. They cost minutes of
        // matching (the sample: 4 min to register no more than the 18 of 20 keyframes alone did), so they are spent only on
        // a model missing more than a tenth of the keyframes never where the
        // keyframes gave no model at all (a flat or animated picture: classic is tried next).
        if (best.Keyframes >= 2 && best.Keyframes < VideoRetryBelow * keyframes.Count && _video is not null)
        {
            LogAddingVideoFrames(_logger, best.Keyframes, keyframes.Count);
            var withVideo = await MapImagesAsync(keyframes, Path.Combine(scratch, "video"), withVideo: true, cancellationToken).ConfigureAwait(false);
            if (withVideo.Keyframes > best.Keyframes) best = withVideo;
        }

        if (best.Model is null || best.Keyframes < 2)
            throw new NotReconstructableException($"COLMAP's mapper registered {best.Keyframes} of {keyframes.Count} keyframes: too little overlap or " +
                                                  "texture between them; sample keyframes more densely");
        if (best.Keyframes < enough)
            throw new NotReconstructableException($"COLMAP registered only {best.Keyframes} of {keyframes.Count} keyframes (fewer than " +
                                                  $"{_settings.MinRegisteredFraction:P0}); sample keyframes more densely");
        var model = best.Model;
        var intrinsics = model.Cameras[model.Images[0].CameraId];
        var cameras = model.Images.Where(i => best.IndexOfName.ContainsKey(i.Name))
            .Select(i => new SfmCamera(best.IndexOfName[i.Name], keyframes[best.IndexOfName[i.Name]].ImagePath, i.CameraToWorld, 0))
            .OrderBy(c => c.ImageIndex).ToList();
        var unregistered = Enumerable.Range(0, keyframes.Count).Except(cameras.Select(c => c.ImageIndex)).ToList();
        var sfm = new SfmResult(intrinsics, cameras, model.Points.Select(p => new SfmPoint(p, 0)).ToList(), unregistered, double.NaN, _fovDegrees is null);
        return (KeyframeStereo.ToUnitMedianDepth(sfm), intrinsics, version, best.Relaxed, best.VideoImages);
    }

    /// <summary>A keyframe model registering fewer than this share of the keyframes is tried again with video frames.</summary>
    private const double VideoRetryBelow = 0.9;

    private sealed record Attempt(ColmapModel? Model, IReadOnlyDictionary<string, int> IndexOfName, int Keyframes, bool Relaxed, int VideoImages);

    /// <summary>One COLMAP run in its own folder: features, matches, mapper (again with a relaxed initialisation when the
    /// default registers too few keyframes).</summary>
    private async Task<Attempt> MapImagesAsync(IReadOnlyList<KeyframeRef> keyframes, string folder, bool withVideo, CancellationToken cancellationToken)
    {
        // Images are named by video frame, so name order is time order (COLMAP's sequential matcher relies on it).
        var images = Path.Combine(folder, "images");
        Directory.CreateDirectory(images);
        var indexOfName = new Dictionary<string, int>(StringComparer.Ordinal);
        for (var i = 0; i < keyframes.Count; i++)
        {
            var name = $"{keyframes[i].FrameIndex:D8}{Path.GetExtension(keyframes[i].ImagePath)}";
            File.CreateSymbolicLink(Path.Combine(images, name), Path.GetFullPath(keyframes[i].ImagePath));
            indexOfName[name] = i;
        }

        var first = RgbFrame.Read(keyframes[0].ImagePath);
        var videoImages = withVideo ? await WriteVideoImagesAsync(keyframes, images, first.Width, first.Height, cancellationToken).ConfigureAwait(false) : 0;
        var database = Path.Combine(folder, "database.db");
        var sparse = Path.Combine(folder, "sparse");
        Directory.CreateDirectory(sparse);
        List<string> extract = ["feature_extractor", "--database_path", database, "--image_path", images, "--ImageReader.single_camera", "1",
            "--ImageReader.camera_model", "PINHOLE", "--SiftExtraction.use_gpu", "0"];
        // COLMAP drops models of fewer than 10 images by default; a short video's model is judged by MinRegisteredFraction instead.
        List<string> map = ["mapper", "--database_path", database, "--image_path", images, "--output_path", sparse, "--Mapper.min_model_size", "3"];
        if (_fovDegrees is { } fov)
        {
            var k = PinholeIntrinsics.FromHorizontalFov(first.Width, first.Height, fov);
            extract.AddRange(["--ImageReader.camera_params", FormattableString.Invariant($"{k.Fx},{k.Fy},{k.Cx},{k.Cy}")]);
            map.AddRange(["--Mapper.ba_refine_focal_length", "0", "--Mapper.ba_refine_principal_point", "0"]);
        }

        await RunAsync(extract, cancellationToken).ConfigureAwait(false);
        // Every pair for up to 100 images (a 20 s video at SfmFps with its video frames): COLMAP's sequential matcher missed
        // the wide pairs its initialisation needs on rendered walks (3 of 50 images registered against 50 of 50
        // exhaustively, seed 2). More: each image with its neighbours in time (6 s at SfmFps).
        var neighbours = Math.Max(10, (int)Math.Round(6 * _settings.SfmFps));
        await RunAsync(keyframes.Count + videoImages <= 100
            ? ["exhaustive_matcher", "--database_path", database, "--SiftMatching.use_gpu", "0"]
            : ["sequential_matcher", "--database_path", database, "--SiftMatching.use_gpu", "0", "--SequentialMatching.overlap",
               neighbours.ToString(CultureInfo.InvariantCulture)], cancellationToken).ConfigureAwait(false);
        // COLMAP's default initial pair needs 16 degrees of triangulation angle and little forward motion, which a slow
        // walk's keyframes may never offer; when the default mapper builds no model or registers too few keyframes, it
        // runs again with an initialisation fit for video (4 degrees, 50 inliers, any forward motion).
        int Keyframes(ColmapModel? model) => model?.Images.Count(i => indexOfName.ContainsKey(i.Name)) ?? 0;
        var best = await MapAsync(map, sparse, folder, cancellationToken).ConfigureAwait(false);
        var relaxed = false;
        if (Keyframes(best) < _settings.MinRegisteredFraction * keyframes.Count)
        {
            LogRelaxedInitialisation(_logger, Keyframes(best), keyframes.Count);
            Directory.Delete(sparse, recursive: true);
            Directory.CreateDirectory(sparse);
            var retry = await MapAsync([.. map, .. RelaxedInitialisation], sparse, folder, cancellationToken).ConfigureAwait(false);
            if (Keyframes(retry) > Keyframes(best)) (best, relaxed) = (retry, true);
        }

        return new Attempt(best, indexOfName, Keyframes(best), relaxed, videoImages);
    }

    /// <summary>Writes the video frames <see cref="SfmImageSchedule"/> picks between keyframes into the image folder (PNG,
    /// at the keyframes' size); returns how many. None without a video or when its frames do not line up.</summary>
    private async Task<int> WriteVideoImagesAsync(IReadOnlyList<KeyframeRef> keyframes, string folder, int width, int height, CancellationToken cancellationToken)
    {
        if (_video is null || SfmImageSchedule.FrameRate(keyframes) is not { } rate) return 0;
        var schedule = new SfmImageSchedule(keyframes, Math.Max(1, (int)Math.Round(rate / _settings.SfmFps)));
        var written = 0;
        await using var reader = RawFrameReader.Start(_video.Tools, _video.Path, new FrameSize(width, height), rate, cancellationToken);
        using var bgr = new Mat();
        await foreach (var frame in reader.ReadAllAsync(cancellationToken).ConfigureAwait(false))
        {
            var (isImage, keyframe) = schedule.Next(frame.Index);
            if (isImage && keyframe < 0)
            {
                using (var rgb = Mat.FromPixelData(height, width, MatType.CV_8UC3, frame.Address)) Cv2.CvtColor(rgb, bgr, ColorConversionCodes.RGB2BGR);
                Cv2.ImWrite(Path.Combine(folder, $"{frame.Index:D8}.png"), bgr);
                written++;
            }

            reader.Recycle(frame);
            if (frame.Index >= schedule.End) break;
        }

        return written;
    }

    /// <summary>Mapper options for the retry: an initial pair with a smaller triangulation angle and fewer inliers, and no
    /// limit on forward motion (COLMAP's defaults: 16 degrees, 100 inliers, 0.95).</summary>
    private static readonly string[] RelaxedInitialisation =
        ["--Mapper.init_min_tri_angle", "4", "--Mapper.init_min_num_inliers", "50", "--Mapper.init_max_forward_motion", "1"];

    /// <summary>Runs the mapper and returns its largest model (the mapper may split the scene), or null when it built
    /// none ("failed to create sparse model" is COLMAP's exit 1 for that; other failures end the reconstruction).</summary>
    private async Task<ColmapModel?> MapAsync(IReadOnlyList<string> map, string sparse, string scratch, CancellationToken cancellationToken)
    {
        var (exit, _, log) = await RunAsync(map, cancellationToken, allowFailure: true).ConfigureAwait(false);
        if (exit != 0 && !log.Contains("failed to create sparse model", StringComparison.Ordinal))
            throw new InvalidOperationException($"colmap mapper failed (exit {exit}): ...{log}");
        ColmapModel? best = null;
        foreach (var model in Directory.EnumerateDirectories(sparse).Order(StringComparer.Ordinal))
        {
            var text = Path.Combine(scratch, "text-" + Path.GetFileName(model));
            if (Directory.Exists(text)) Directory.Delete(text, recursive: true);
            Directory.CreateDirectory(text);
            await RunAsync(["model_converter", "--input_path", model, "--output_path", text, "--output_type", "TXT"], cancellationToken).ConfigureAwait(false);
            var read = ColmapModel.Read(text);
            if (best is null || read.Images.Count > best.Images.Count) best = read;
        }

        return best;
    }

    /// <summary>Runs one COLMAP command headless; a non-zero exit or a run past the step time limit ends the
    /// reconstruction with the command and the tail of its log. Returns stdout.</summary>
    private async Task<(int Exit, string Stdout, string Log)> RunAsync(IReadOnlyList<string> arguments, CancellationToken cancellationToken,
        bool allowFailure = false)
    {
        using var limit = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        limit.CancelAfter(_stepTimeout);
        try
        {
            var (exit, stdout, log) = await ToolProcess.RunAsync(_colmap, arguments, limit.Token, Headless).ConfigureAwait(false);
            if (exit != 0 && !allowFailure) throw new InvalidOperationException($"colmap {arguments[0]} failed (exit {exit}): ...{log}");
            return (exit, stdout, log);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            throw new InvalidOperationException($"colmap {arguments[0]} ran past its {_stepTimeout.TotalMinutes:0} min limit and was stopped");
        }
    }

    /// <summary>No display on workers.</summary>
    private static readonly IReadOnlyDictionary<string, string> Headless = new Dictionary<string, string> { ["QT_QPA_PLATFORM"] = "offscreen" };

    [LoggerMessage(EventId = 2307, Level = LogLevel.Information,
        Message = "COLMAP registered {Registered} of {Keyframes} keyframes alone; trying again with the video frames between them")]
    private static partial void LogAddingVideoFrames(ILogger logger, int registered, int keyframes);

    [LoggerMessage(EventId = 2306, Level = LogLevel.Information,
        Message = "COLMAP's mapper registered {Registered} of {Keyframes} keyframes with its default initialisation; trying again with an initial pair fit for video")]
    private static partial void LogRelaxedInitialisation(ILogger logger, int registered, int keyframes);

    [LoggerMessage(EventId = 2304, Level = LogLevel.Information,
        Message = "COLMAP ({Version}): registered {Registered}/{Keyframes} keyframes, {Points} points, focal {Focal:0.0} px in {Seconds:0.0} s")]
    private static partial void LogCameras(ILogger logger, string version, int registered, int keyframes, int points, double focal, double seconds);
}
