using System.Diagnostics;
using System.Runtime.CompilerServices;
using Concerto.Ingest.Core.Geometry;
using Concerto.Ingest.Media.Ffmpeg;
using Concerto.Ingest.Reconstruction.Classic.Sfm;
using Concerto.Ingest.Reconstruction.Classic.Stereo;
using Concerto.Ingest.Reconstruction.Fusion;
using Concerto.Ingest.Reconstruction.Pipeline;
using Concerto.Ingest.Reconstruction.Vggt;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Concerto.Ingest.Reconstruction.Classic.Colmap;

/// <summary>What the COLMAP reconstructor did.</summary>
public sealed record ColmapReport(string Version, int Keyframes, int Registered, int SparsePoints, double FocalPixels, bool FocalEstimated,
    double SfmSeconds, double StereoSeconds, int FramesWithoutNeighbours);

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

    /// <param name="colmap">The COLMAP executable (a path, or a name on PATH).</param>
    /// <param name="fovDegrees">The camera's horizontal field of view when known: COLMAP then keeps that focal length fixed.</param>
    public ColmapReconstructor(string colmap, ClassicSettings settings, double? fovDegrees, TimeSpan? stepTimeout = null, ILogger? logger = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(colmap);
        ArgumentNullException.ThrowIfNull(settings);
        (_colmap, _settings, _fovDegrees, _stepTimeout, _logger) = (colmap, settings, fovDegrees, stepTimeout ?? TimeSpan.FromMinutes(30), logger ?? NullLogger.Instance);
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
            var (world, intrinsics, version) = await SolveAsync(keyframes, scratch, cancellationToken).ConfigureAwait(false);
            var sfmSeconds = clock.Elapsed.TotalSeconds;
            Report = new ColmapReport(version, keyframes.Count, world.Cameras.Count, world.Points.Count, intrinsics.Fx, _fovDegrees is null, sfmSeconds, 0, 0);
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

    /// <summary>Runs COLMAP over the keyframes (linked into scratch/images under their own names) and returns the
    /// keyframes' cameras and the sparse points in a world of unit median depth.</summary>
    private async Task<(SfmResult World, PinholeIntrinsics Intrinsics, string Version)> SolveAsync(IReadOnlyList<KeyframeRef> keyframes, string scratch,
        CancellationToken cancellationToken)
    {
        var images = Path.Combine(scratch, "images");
        Directory.CreateDirectory(images);
        var indexOfName = new Dictionary<string, int>(StringComparer.Ordinal);
        for (var i = 0; i < keyframes.Count; i++)
        {
            var name = $"{i:D5}{Path.GetExtension(keyframes[i].ImagePath)}";
            File.CreateSymbolicLink(Path.Combine(images, name), Path.GetFullPath(keyframes[i].ImagePath));
            indexOfName[name] = i;
        }

        var first = RgbFrame.Read(keyframes[0].ImagePath);
        var database = Path.Combine(scratch, "database.db");
        var sparse = Path.Combine(scratch, "sparse");
        Directory.CreateDirectory(sparse);
        var version = (await RunAsync(["help"], cancellationToken, allowFailure: true).ConfigureAwait(false))
            .Split('\n').Select(l => l.Trim()).FirstOrDefault(l => l.StartsWith("COLMAP", StringComparison.Ordinal)) ?? "COLMAP (version unknown)";

        List<string> extract = ["feature_extractor", "--database_path", database, "--image_path", images, "--ImageReader.single_camera", "1",
            "--ImageReader.camera_model", "PINHOLE", "--SiftExtraction.use_gpu", "0"];
        List<string> map = ["mapper", "--database_path", database, "--image_path", images, "--output_path", sparse];
        if (_fovDegrees is { } fov)
        {
            var k = PinholeIntrinsics.FromHorizontalFov(first.Width, first.Height, fov);
            extract.AddRange(["--ImageReader.camera_params", FormattableString.Invariant($"{k.Fx},{k.Fy},{k.Cx},{k.Cy}")]);
            map.AddRange(["--Mapper.ba_refine_focal_length", "0", "--Mapper.ba_refine_principal_point", "0"]);
        }

        await RunAsync(extract, cancellationToken).ConfigureAwait(false);
        await RunAsync(["exhaustive_matcher", "--database_path", database, "--SiftMatching.use_gpu", "0"], cancellationToken).ConfigureAwait(false);
        await RunAsync(map, cancellationToken).ConfigureAwait(false);

        // The mapper may split the scene into several models; the one with most images stands for it.
        ColmapModel? best = null;
        foreach (var model in Directory.EnumerateDirectories(sparse).Order(StringComparer.Ordinal))
        {
            var text = Path.Combine(scratch, "text-" + Path.GetFileName(model));
            Directory.CreateDirectory(text);
            await RunAsync(["model_converter", "--input_path", model, "--output_path", text, "--output_type", "TXT"], cancellationToken).ConfigureAwait(false);
            var read = ColmapModel.Read(text);
            if (best is null || read.Images.Count > best.Images.Count) best = read;
        }

        if (best is null || best.Images.Count < 2)
            throw new NotReconstructableException($"COLMAP's mapper registered {best?.Images.Count ?? 0} of {keyframes.Count} keyframes: too little overlap or " +
                                                  "texture between them; sample keyframes more densely");
        if (best.Images.Count < _settings.MinRegisteredFraction * keyframes.Count)
            throw new NotReconstructableException($"COLMAP registered only {best.Images.Count} of {keyframes.Count} keyframes (fewer than " +
                                                  $"{_settings.MinRegisteredFraction:P0}); sample keyframes more densely");
        var intrinsics = best.Cameras[best.Images[0].CameraId];
        var cameras = best.Images.Where(i => indexOfName.ContainsKey(i.Name))
            .Select(i => new SfmCamera(indexOfName[i.Name], keyframes[indexOfName[i.Name]].ImagePath, i.CameraToWorld, 0))
            .OrderBy(c => c.ImageIndex).ToList();
        var unregistered = Enumerable.Range(0, keyframes.Count).Except(cameras.Select(c => c.ImageIndex)).ToList();
        var sfm = new SfmResult(intrinsics, cameras, best.Points.Select(p => new SfmPoint(p, 0)).ToList(), unregistered, double.NaN, _fovDegrees is null);
        return (KeyframeStereo.ToUnitMedianDepth(sfm), intrinsics, version);
    }

    /// <summary>Runs one COLMAP command headless; a non-zero exit or a run past the step time limit ends the
    /// reconstruction with the command and the tail of its log. Returns stdout.</summary>
    private async Task<string> RunAsync(IReadOnlyList<string> arguments, CancellationToken cancellationToken, bool allowFailure = false)
    {
        using var limit = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        limit.CancelAfter(_stepTimeout);
        try
        {
            var (exit, stdout, log) = await ToolProcess.RunAsync(_colmap, arguments, limit.Token, Headless).ConfigureAwait(false);
            if (exit != 0 && !allowFailure) throw new InvalidOperationException($"colmap {arguments[0]} failed (exit {exit}): ...{log}");
            return stdout;
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            throw new InvalidOperationException($"colmap {arguments[0]} ran past its {_stepTimeout.TotalMinutes:0} min limit and was stopped");
        }
    }

    /// <summary>No display on workers.</summary>
    private static readonly IReadOnlyDictionary<string, string> Headless = new Dictionary<string, string> { ["QT_QPA_PLATFORM"] = "offscreen" };

    [LoggerMessage(EventId = 2304, Level = LogLevel.Information,
        Message = "COLMAP ({Version}): registered {Registered}/{Keyframes} keyframes, {Points} points, focal {Focal:0.0} px in {Seconds:0.0} s")]
    private static partial void LogCameras(ILogger logger, string version, int registered, int keyframes, int points, double focal, double seconds);
}
