using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using Concerto.Ingest.Cli;
using Concerto.Ingest.Core.Geometry;
using Concerto.Ingest.Core.Media;
using Concerto.Ingest.Core.Profiles;
using Concerto.Ingest.Media.Decode;
using Concerto.Ingest.Media.Ffmpeg;
using Concerto.Ingest.Media.Probe;
using Concerto.Ingest.Reconstruction.Classic;
using Concerto.Ingest.Reconstruction.Classic.Colmap;
using Concerto.Ingest.Reconstruction.Evaluation;
using Concerto.Ingest.Reconstruction.Onnx;
using Concerto.Ingest.Reconstruction.Vggt;
using Concerto.Ingest.Reconstruction.Pipeline;
using Concerto.Ingest.Reconstruction.Posed;
using Concerto.Ingest.Segments.Pipeline;
using Concerto.Ingest.Segments.Scenes;
using Concerto.Ingest.Segments.Selection;
using Concerto.Ingest.Segments.Visibility;
using Concerto.Ingest.Synthetic.Capture;
using Microsoft.Extensions.Logging.Abstractions;
using Spectre.Console;

namespace Concerto.Ingest.Benchmarks;

/// <summary>`concerto bench recon --seeds 1,2,3,4`: reconstruction quality per synthetic room, method by method, on the
/// same keyframes: a `concerto synth` capture (300 frames, 10 s of walking camera) decoded with the profile, then each
/// method's reconstruct and segment work as the stages do it (without the database): cameras registered, camera position
/// RMS after Sim(3) alignment to the true cameras, truncated Chamfer accuracy and completeness of the fused cloud against
/// the ground-truth cloud, seconds per keyframe, segments and segments per minute of video. classic and colmap see only
/// the video (their focal length from the capture's metadata unless --focal estimate); posed reads the capture's true
/// cameras and depth, the upper bound.</summary>
public static class ReconBenchmark
{
    private sealed record Plan(int[] Seeds, string[] Methods, int Frames, int Width, int Height, FocalSource Focal, double MaxDistance);

    public static Command Create()
    {
        var seeds = new Option<string>("--seeds", "--seed") { Description = "Synthetic rooms (comma-separated seeds).", DefaultValueFactory = _ => "1,2,3,4" };
        var methods = new Option<string>("--methods") { Description = "Reconstructors to compare, comma-separated (classic, colmap, posed; diagnostics: stereo = classic's stereo on the true cameras, tracks = classic's tracks bundle-adjusted from the true cameras).", DefaultValueFactory = _ => "classic,colmap,posed" };
        var frames = new Option<int?>("--frames") { Description = "Frames of each capture at 30 fps (default 300, i.e. 10 s; --quick 150)." };
        var quick = new Option<bool>("--quick") { Description = "Seed 1 only, 5 s of video (about 2 minutes on 2 cores)." };
        var width = new Option<int>("--width") { Description = "Capture width.", DefaultValueFactory = _ => 640 };
        var height = new Option<int>("--height") { Description = "Capture height.", DefaultValueFactory = _ => 480 };
        var focal = new Option<FocalSource>("--focal") { Description = "classic and colmap: metadata (the capture's focal length) or estimate.", DefaultValueFactory = _ => FocalSource.Metadata };
        var maxDistance = new Option<double>("--max-distance") { Description = "Chamfer truncation in metres.", DefaultValueFactory = _ => 0.1 };
        var profile = new Option<string?>("--profile", "-p") { Description = $"Pipeline profile for decode, reconstruct and segment settings (default {CliEnvironment.DefaultProfile})." };
        var command = new Command("recon", "Reconstruction quality per synthetic room: classic vs colmap vs posed (cameras, Chamfer, time, segments).")
        {
            seeds, methods, frames, quick, width, height, focal, maxDistance, profile,
        };
        command.SetAction((parse, ct) => CliRun.GuardAsync(() =>
        {
            var q = parse.GetValue(quick);
            var plan = new Plan(q && parse.GetResult(seeds) is not { Implicit: false } ? [1] : PretrainBenchmark.ParseSeeds(parse.GetValue(seeds)!),
                parse.GetValue(methods)!.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries),
                parse.GetValue(frames) ?? (q ? 150 : 300), parse.GetValue(width), parse.GetValue(height), parse.GetValue(focal), parse.GetValue(maxDistance));
            return RunAsync(plan, parse.GetValue(profile), ct);
        }));
        return command;
    }

    private sealed record Row(int Seed, string Method, int Keyframes, int Cameras, double CameraRmsMm, double AccuracyMm, double CompletenessMm,
        double SecondsPerKeyframe, int Segments, double SegmentsPerMinute, string? Failure, int[]? SegmentsAtOverlap = null,
        IReadOnlyList<(double Time, V3 Centre)>? Centres = null, double SharedRmsMm = double.NaN, int SharedCameras = 0);

    /// <summary>Methods that solve for the cameras from the video; their rows also compare camera error on the keyframes
    /// all of them registered (COLMAP may drop the hard ones).</summary>
    private static readonly string[] CameraSolvers = ["classic", "colmap", "tracks"];

    /// <summary>segment.maxOverlap values the table also counts groups for (the profile's other settings kept).</summary>
    private static readonly double[] OverlapLimits = [0.5, 0.7, 0.9];

    private static async Task<int> RunAsync(Plan plan, string? profilePath, CancellationToken cancellationToken)
    {
        var known = new[] { "classic", "colmap", "posed", "stereo", "tracks" };
        if (plan.Methods.Length == 0 || plan.Methods.Except(known).FirstOrDefault() is { } unknown && unknown.Length > 0)
            throw new ArgumentException($"--methods: '{string.Join(',', plan.Methods.Except(known))}' is not one of {string.Join(", ", known)}.");
        if (plan.Frames < 30) throw new ArgumentException("--frames must be at least 30 (1 s).");
        var env = new CliEnvironment();
        var tools = FfmpegTools.Locate(env.Media.FfmpegFolder);
        var profile = CliEnvironment.LoadProfile(profilePath).Profile;
        var reconstruct = profile.Reconstruct ?? ReconstructSettings.Default;
        var segment = profile.Segment ?? SegmentSettings.Default;
        using var vggtModels = new OpenModels<VggtModel>();
        var sources = new ReconstructorSources(env.Reconstruction, new CaptureReader(tools), tools, vggtModels);
        if (plan.Methods.Contains("colmap") && ColmapReconstructor.Find(sources.Options.ColmapPath) is null)
            throw new ArgumentException("--methods includes colmap, but COLMAP is not installed (scripts/setup.sh installs Debian's; Concerto:Reconstruction:ColmapPath names another).");

        var rows = new List<Row>();
        var root = Directory.CreateTempSubdirectory("concerto-bench-recon-").FullName;
        var total = Stopwatch.StartNew();
        try
        {
            foreach (var seed in plan.Seeds)
            {
                var capture = Path.Combine(root, $"seed-{seed}");
                var synth = new SynthSettings(seed, plan.Frames, plan.Width, plan.Height);
                synth.Validate();
                CliOutput.Error.WriteLine($"seed {seed}: rendering {plan.Frames} frames at {plan.Width}x{plan.Height}");
                await new SyntheticCaptureWriter(tools).WriteAsync(synth, capture, null, cancellationToken).ConfigureAwait(false);
                var video = Path.Combine(capture, SyntheticCaptureWriter.VideoFile);
                var info = await new VideoProber(tools).ProbeAsync(video, cancellationToken).ConfigureAwait(false);
                var keyframeFolder = Path.Combine(root, $"keyframes-{seed}");
                var decoded = await new KeyframeExtractor(tools).ExtractAsync(video, info, profile.Decode, keyframeFolder, null, cancellationToken).ConfigureAwait(false);
                var keyframes = decoded.Keyframes.Select(k => new KeyframeRef((int)k.FrameIndex, k.Time, Path.Combine(keyframeFolder, k.FileName))).ToList();

                foreach (var method in plan.Methods)
                {
                    CliOutput.Error.WriteLine($"seed {seed}: {method} on {keyframes.Count} keyframes of {decoded.Size.Width}x{decoded.Size.Height}");
                    var settings = reconstruct with
                    {
                        Method = method switch
                        {
                            "stereo" => ReconstructMethod.Posed,
                            "tracks" => ReconstructMethod.Classic,
                            _ => Enum.Parse<ReconstructMethod>(method, ignoreCase: true),
                        },
                        Focal = method is "posed" or "stereo" or "tracks" ? FocalSource.Metadata : plan.Focal,
                    };
                    var row = await MeasureAsync(seed, method, video, capture, keyframes, decoded.Size, settings, segment, sources, info.DurationSeconds,
                        Path.Combine(root, $"segments-{seed}-{method}"), plan.MaxDistance, cancellationToken).ConfigureAwait(false);
                    rows.Add(row);
                    CliOutput.Error.WriteLine(row.Failure is null
                        ? FormattableString.Invariant($"  {row.Cameras}/{row.Keyframes} cameras, RMS {row.CameraRmsMm:0.0} mm, accuracy {row.AccuracyMm:0.0} mm, completeness {row.CompletenessMm:0.0} mm, {row.SecondsPerKeyframe:0.00} s/keyframe, {row.Segments} segments")
                        : $"  failed: {row.Failure}");
                }

                CompareOnSharedKeyframes(rows, seed, capture);
                Directory.Delete(capture, recursive: true);
                Directory.Delete(keyframeFolder, recursive: true);
            }
        }
        finally
        {
            Directory.Delete(root, recursive: true);
        }

        Write(rows, plan);
        CliOutput.Error.WriteLine($"bench recon: {total.Elapsed.TotalMinutes:0.0} min");
        return rows.Any(r => r.Failure is not null) ? 1 : 0;
    }

    /// <summary>Camera RMS of this seed's camera-solving rows again, over only the keyframes every one of them registered.</summary>
    private static void CompareOnSharedKeyframes(List<Row> rows, int seed, string capture)
    {
        var solved = rows.Select((r, i) => (r, i)).Where(x => x.r.Seed == seed && x.r.Failure is null && CameraSolvers.Contains(x.r.Method)).ToList();
        if (solved.Count < 2) return;
        var shared = solved.Select(x => x.r.Centres!.Select(c => c.Time).ToHashSet())
            .Aggregate((a, b) => { a.IntersectWith(b); return a; });
        if (shared.Count < 3) return;
        foreach (var (r, i) in solved)
        {
            var error = GroundTruthEvaluation.CameraError(capture, r.Centres!.Where(c => shared.Contains(c.Time)).ToList());
            rows[i] = r with { SharedRmsMm = error.RmsPositionError * 1000, SharedCameras = shared.Count };
        }
    }

    private static async Task<Row> MeasureAsync(int seed, string method, string video, string capture, List<KeyframeRef> keyframes, FrameSize size,
        ReconstructSettings profile, SegmentSettings segment, ReconstructorSources sources, double durationSeconds, string segmentFolder,
        double maxDistance, CancellationToken cancellationToken)
    {
        var reconstructor = method == "stereo"
            ? new TrueCameraStereo(capture, ClassicSettings.For(profile.Stereo ?? StereoSettings.Default))
            : ReconstructorChoice.Plan(video, profile, keyframes.Count, sources, NullLogger.Instance).Candidates.Single();
        if (method == "tracks")
        {
            // The truth by video frame index (the tracked frames come from the same 30 fps video).
            var frames = CaptureReader.Load(capture).Frames;
            ((ClassicReconstructor)reconstructor).StartCameras = index => RigidTransform.FromMatrix4(frames[(int)Math.Clamp(index, 0, frames.Count - 1)].CameraToWorld);
        }
        var settings = ReconstructionSettings.Default with
        {
            VoxelSize = profile.VoxelSize,
            Confidence = new Reconstruction.Fusion.ConfidenceFilterSettings(Percentile: profile.ConfidencePercentile),
            Normalisation = new Reconstruction.Fusion.SceneNormalisationSettings(profile.TargetZRange),
        };
        var clock = Stopwatch.StartNew();
        ReconstructionResult result;
        try
        {
            result = await ReconstructionPipeline.RunAsync(reconstructor, keyframes, settings, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (e is NotReconstructableException or InvalidOperationException)
        {
            // A method that cannot lift this room (or whose program fails) is a row with the reason, not the end of the run.
            return new Row(seed, method, keyframes.Count, 0, double.NaN, double.NaN, double.NaN, clock.Elapsed.TotalSeconds / keyframes.Count, 0, 0, e.Message);
        }

        var seconds = clock.Elapsed.TotalSeconds;
        var centres = result.Views.Select(v => (v.Time, v.CameraToWorld.T)).ToList();
        var report = GroundTruthEvaluation.Evaluate(capture, centres, result.Cloud.Coord, maxDistance);

        // The segment stage's work on this scene, as SegmentJob does it: intrinsics in the keyframe images' pixels.
        var byFrame = keyframes.ToDictionary(k => k.FrameIndex);
        var views = result.Views.Select(v => new SceneView(v.FrameIndex, v.Time, v.CameraToWorld,
            v.Intrinsics.Width == size.Width && v.Intrinsics.Height == size.Height ? v.Intrinsics : v.Intrinsics.ScaledTo(size.Width, size.Height),
            byFrame[v.FrameIndex].ImagePath)).ToList();
        var cloud = new SceneCloud(result.Cloud.Coord, result.Cloud.Color, result.Cloud.Normal);
        Directory.CreateDirectory(segmentFolder);
        var spacing = profile.VoxelSize * result.ToScene.Scale;
        var segments = SceneSegmenter.Run(cloud, views, segment, spacing, null, segmentFolder, null, cancellationToken);
        Directory.Delete(segmentFolder, recursive: true);
        var visibility = views.AsParallel().AsOrdered().Select(v => ViewVisibility.Compute(cloud, v, new VisibilitySettings(spacing))).ToList();
        var atOverlap = OverlapLimits.Select(o => ViewGroupSelector.Select(views, visibility, cloud.Count, segment with { MaxOverlap = o }).Count).ToArray();
        return new Row(seed, method, keyframes.Count, result.Views.Count, report.Alignment.RmsPositionError * 1000, report.Chamfer.Accuracy * 1000,
            report.Chamfer.Completeness * 1000, seconds / keyframes.Count, segments.Segments.Count, segments.Segments.Count / (durationSeconds / 60), null, atOverlap, centres);
    }

    private static void Write(List<Row> rows, Plan plan)
    {
        var table = new Table().Border(TableBorder.Markdown)
            .AddColumns("seed", "method", "cameras", "camera RMS (mm)", "on shared keyframes (mm)", "Chamfer acc. (mm)", "compl. (mm)", "s / keyframe", "segments", "segments / min",
                $"groups at maxOverlap {string.Join(" / ", OverlapLimits.Select(o => o.ToString(CultureInfo.InvariantCulture)))}");
        string F(double v) => double.IsNaN(v) ? "-" : v.ToString("0.0", CultureInfo.InvariantCulture);
        foreach (var r in rows)
            table.AddRow(r.Seed.ToString(CultureInfo.InvariantCulture), r.Method, $"{r.Cameras} / {r.Keyframes}", F(r.CameraRmsMm),
                r.SharedCameras > 0 ? $"{F(r.SharedRmsMm)} ({r.SharedCameras})" : "-", F(r.AccuracyMm),
                F(r.CompletenessMm), r.SecondsPerKeyframe.ToString("0.00", CultureInfo.InvariantCulture), r.Segments.ToString(CultureInfo.InvariantCulture),
                F(r.SegmentsPerMinute), r.SegmentsAtOverlap is { } g ? string.Join(" / ", g) : "-");
        foreach (var method in plan.Methods)
        {
            var ok = rows.Where(r => r.Method == method && r.Failure is null).ToList();
            if (ok.Count == 0) continue;
            var shared = ok.Where(r => r.SharedCameras > 0).ToList();
            table.AddRow("mean", $"[bold]{method}[/]", $"{ok.Sum(r => r.Cameras)} / {ok.Sum(r => r.Keyframes)}", F(ok.Average(r => r.CameraRmsMm)),
                shared.Count > 0 ? $"{F(shared.Average(r => r.SharedRmsMm))} ({shared.Sum(r => r.SharedCameras)})" : "-",
                F(ok.Average(r => r.AccuracyMm)), F(ok.Average(r => r.CompletenessMm)), ok.Average(r => r.SecondsPerKeyframe).ToString("0.00", CultureInfo.InvariantCulture),
                ok.Sum(r => r.Segments).ToString(CultureInfo.InvariantCulture), F(ok.Average(r => r.SegmentsPerMinute)),
                string.Join(" / ", OverlapLimits.Select((_, i) => ok.Sum(r => r.SegmentsAtOverlap![i]))));
        }

        AnsiConsole.Write(table);
        AnsiConsole.MarkupLineInterpolated($"{plan.Frames} frames at 30 fps per room, focal for classic/colmap: {plan.Focal}; camera RMS also over the keyframes every camera-solving method (classic, colmap, tracks) registered, in brackets; Chamfer capped at {plan.MaxDistance * 1000:0} mm; segments with the profile's segment settings, groups also counted at other maxOverlap limits.");
    }
}
