using System.CommandLine;
using System.Globalization;
using System.Runtime.InteropServices;
using Concerto.Ingest.Cli;
using Concerto.Ingest.Core.Geometry;
using Concerto.Ingest.Core.Media;
using Concerto.Ingest.Core.Profiles;
using Concerto.Ingest.Features.Teacher;
using Concerto.Ingest.Media.Decode;
using Concerto.Ingest.Reconstruction.Onnx;
using Concerto.Ingest.Segments.Pipeline;
using Concerto.Ingest.Synthetic.Capture;
using Concerto.Ingest.Synthetic.Models;
using Concerto.Ingest.Synthetic.Rendering;
using Concerto.Ingest.Synthetic.Scenes;
using Microsoft.Extensions.Logging;
using Spectre.Console;

namespace Concerto.Ingest.Benchmarks;

/// <summary>`concerto bench featurize`: the featurize stage's work (ImageFeaturizer.RunAsync: JPEG reading and teacher
/// preprocessing, InferenceSession.Run, float16 conversion, npy files; not the database commit) as images per second and
/// the share of its wall time spent outside Run, on keyframe JPEGs of a synthetic room (518x388, as the decode stage
/// writes them from 640x480 video). The model is a DINOv2-with-registers-signature model (patch embedding, CLS,
/// registers) with optional D x D MatMul layers as its cost, measured beside the same model without them so the stage's
/// own overhead shows; or a real teacher export.</summary>
public static class FeaturizeBenchmark
{
    private const int ImageWidth = 518;
    private const int ImageHeight = 388;

    public static Command Create()
    {
        var images = new Option<int>("--images") { Description = "Keyframe images to featurize per pass.", DefaultValueFactory = _ => 64 };
        var width = new Option<int>("--width") { Description = "Feature width D of the signature model (384 ViT-S, 768 ViT-B, 1024 ViT-L).", DefaultValueFactory = _ => 384 };
        var layers = new Option<int>("--work-layers") { Description = "Token-wise D x D MatMul layers in the signature model, its cost (a real ViT-S/14 at 518 px: ~93 GFLOP/image).", DefaultValueFactory = _ => 12 };
        var batch = new Option<int>("--batch") { Description = "Images per Run (featurize.batchSize).", DefaultValueFactory = _ => 8 };
        var passes = new Option<int>("--passes") { Description = "Timed passes after one warm-up pass; the best counts.", DefaultValueFactory = _ => 2 };
        var model = new Option<string?>("--model") { Description = "A real teacher ONNX export instead of the signature model (its width is used)." };
        var command = new Command("featurize", "Featurize stage images/s and the share of its time outside InferenceSession.Run.")
        {
            images, width, layers, batch, passes, model,
        };
        command.SetAction((parse, ct) => CliRun.GuardAsync(() => RunAsync(new Options(parse.GetValue(images), parse.GetValue(width),
            parse.GetValue(layers), parse.GetValue(batch), parse.GetValue(passes), parse.GetValue(model)), ct)));
        return command;
    }

    private sealed record Options(int Images, int Width, int WorkLayers, int Batch, int Passes, string? Model);

    /// <summary>A model to time: its table label, file, and GFLOP per image where known.</summary>
    private sealed record Candidate(string Label, string Path, double? Gflop);

    private static async Task<int> RunAsync(Options o, CancellationToken cancellationToken)
    {
        if (o.Images < 1 || o.Width < 1 || o.WorkLayers < 0 || o.Batch < 1 || o.Passes < 1)
            throw new ArgumentException("need --images >= 1, --width >= 1, --work-layers >= 0, --batch >= 1, --passes >= 1.");
        var env = new CliEnvironment();
        var device = OnnxModelFile.ParseDevice(env.Features.Device);
        var profile = CliEnvironment.LoadProfile(null).Profile;
        var settings = FeaturizeSettings.Default with { BatchSize = o.Batch };
        var scratch = Directory.CreateTempSubdirectory("concerto-bench-featurize-");
        try
        {
            var images = await AnsiConsole.Status().StartAsync($"rendering {o.Images} keyframe images", _ => Task.Run(() =>
                WriteKeyframes(o.Images, profile, Path.Combine(scratch.FullName, "keyframes"), cancellationToken), cancellationToken)).ConfigureAwait(false);

            List<Candidate> candidates = [];
            if (o.Model is not null)
            {
                candidates.Add(new Candidate(Path.GetFileName(o.Model), o.Model, null));
            }
            else
            {
                // Without work layers first: the same stage with next to nothing inside Run shows its own overhead.
                foreach (var work in new[] { 0, o.WorkLayers }.Distinct())
                {
                    var path = Path.Combine(scratch.FullName, "models", $"dino-{work}.onnx");
                    DinoSignatureModel.Write(path, new DinoSignatureModel.DinoModelSpec(o.Width, Registers: 4, Seed: 1, WorkLayers: work));
                    candidates.Add(new Candidate(work == 0 ? "patch embedding only" : $"{work} x {o.Width} MatMul layers", path,
                        GflopPerImage(settings, o.Width, work)));
                }
            }

            using var loggers = CliRun.CreateLoggers(verbose: false);
            var logger = loggers.CreateLogger(typeof(FeaturizeBenchmark).FullName!);
            var results = new List<(Candidate Model, FeaturizeTiming Best)>();
            var provider = "";
            var modelWidth = o.Width;
            foreach (var candidate in candidates)
            {
                using var teacher = TeacherModel.Open(settings, candidate.Path, device, logger);
                (provider, modelWidth) = (teacher.ExecutionProvider, teacher.Width);
                results.Add((candidate, await BestPassAsync(teacher, images, candidate.Label, o.Passes, scratch.FullName, cancellationToken)
                    .ConfigureAwait(false)));
            }

            // One column per model, so the table stays narrow.
            var table = new Table().Border(TableBorder.Simple)
                .Title($"featurize: {o.Images} keyframes, batch {o.Batch}, {provider}, best of {o.Passes}")
                .Caption($"JPEG {ImageWidth}x{ImageHeight} -> {settings.ImageSize}x{settings.ImageSize}, D {modelWidth}; overhead = (wall - Run) / images")
                .AddColumn("measure");
            foreach (var (model, _) in results) table.AddColumn(Markup.Escape(model.Label));
            void Row(string measure, Func<Candidate, FeaturizeTiming, string> value) =>
                table.AddRow([measure, .. results.Select(r => value(r.Model, r.Best))]);
            static double Outside(FeaturizeTiming t) => t.Wall.TotalSeconds - t.RunSeconds;
            Row("GFLOP/image (estimate)", (m, _) => m.Gflop is { } g ? g.ToString("0.0", CultureInfo.InvariantCulture) : "?");
            Row("stage wall time", (_, t) => $"{t.Wall.TotalSeconds:0.000} s");
            Row("inside InferenceSession.Run", (_, t) => $"{t.RunSeconds:0.000} s");
            Row("[bold]images/s[/]", (_, t) => $"[bold]{t.ImagesPerSecond:0.0}[/]");
            Row("[bold]outside Run[/]", (_, t) => $"[bold]{Outside(t):0.000} s = {t.ShareOutsideRun:P1}[/]");
            Row("stage overhead per image", (_, t) => $"{Outside(t) / t.Images * 1000:0.00} ms");
            AnsiConsole.Write(table);
            return 0;
        }
        finally
        {
            scratch.Delete(recursive: true);
        }
    }

    /// <summary>Patch embedding (a 3 x patch x patch input per patch and channel) plus the work layers, per image.</summary>
    private static double GflopPerImage(FeaturizeSettings settings, int width, int workLayers) =>
        2.0 * settings.PatchTokens * width * (3 * settings.PatchSize * settings.PatchSize + workLayers * width) / 1e9;

    private static async Task<FeaturizeTiming> BestPassAsync(TeacherModel teacher, IReadOnlyList<FeatureImage> images, string label, int passes,
        string scratch, CancellationToken cancellationToken)
    {
        FeaturizeTiming? best = null;
        for (var pass = 0; pass <= passes; pass++)
        {
            // A fresh output folder per pass, as the stage's staging folder is.
            var output = Path.Combine(scratch, "features");
            var timing = await ImageFeaturizer.RunAsync(teacher, images, output, null, cancellationToken).ConfigureAwait(false);
            Directory.Delete(output, recursive: true);
            AnsiConsole.MarkupLineInterpolated(
                $"{label}, {(pass == 0 ? "warm-up" : $"pass {pass}")}: stage {timing.Wall.TotalSeconds:0.000} s, Run {timing.RunSeconds:0.000} s");
            if (pass > 0 && (best is null || timing.Wall < best.Wall)) best = timing;
        }

        return best!;
    }

    /// <summary>Renders the synthetic room along its camera path, one keyframe every 0.75 s, and writes the frames as the
    /// decode stage does (its JPEG quality); the feature files are laid out per segment of viewsPerSegment images, as the
    /// stage's are.</summary>
    private static List<FeatureImage> WriteKeyframes(int count, PipelineProfile profile, string folder, CancellationToken cancellationToken)
    {
        Directory.CreateDirectory(folder);
        const int seed = 1;
        var scene = SceneGenerator.Generate(seed);
        var path = new CameraPath(scene, seed);
        var renderer = new FrameRenderer(scene, PinholeIntrinsics.FromHorizontalFov(ImageWidth, ImageHeight, 70));
        var frame = new RenderedFrame(ImageWidth, ImageHeight);
        var perSegment = (profile.Segment ?? new SegmentSettings()).ViewsPerSegment;
        using var writer = new KeyframeImageWriter(KeyframeImageFormat.Jpg, profile.Decode.JpegQuality);
        var pixels = GCHandle.Alloc(frame.Rgb, GCHandleType.Pinned);
        try
        {
            var images = new List<FeatureImage>(count);
            for (var i = 0; i < count; i++)
            {
                cancellationToken.ThrowIfCancellationRequested();
                renderer.Render(path.PoseAt(0.75 * i), frame);
                var file = Path.Combine(folder, i.ToString(CultureInfo.InvariantCulture) + writer.Extension);
                writer.Write(pixels.AddrOfPinnedObject(), new FrameSize(ImageWidth, ImageHeight), file);
                images.Add(new FeatureImage(file,
                    $"{SegmentationResult.FolderName(i / perSegment)}/{(i % perSegment).ToString(CultureInfo.InvariantCulture)}.npy"));
            }

            return images;
        }
        finally
        {
            pixels.Free();
        }
    }
}
