using System.CommandLine;
using Concerto.Ingest.Media.Ffmpeg;
using Concerto.Ingest.Synthetic.Capture;
using Concerto.Ingest.Synthetic.Models;
using Spectre.Console;

namespace Concerto.Ingest.Cli.Commands;

/// <summary>`concerto synth --seed S --frames N --out DIR [--width --height --fps --fov --points] [--vggt-model PATH]`.</summary>
public static class SynthCommand
{
    public static Command Create()
    {
        var seed = new Option<int>("--seed") { Description = "Scene and camera path seed.", DefaultValueFactory = _ => 0 };
        var frames = new Option<int>("--frames") { Description = "Number of frames.", DefaultValueFactory = _ => 300 };
        var output = new Option<string>("--out", "-o") { Description = "Output folder (video.mp4, capture.json, depth/, semantic/, instance/, pointcloud/).", Required = true };
        var width = new Option<int>("--width") { Description = "Frame width (even).", DefaultValueFactory = _ => 640 };
        var height = new Option<int>("--height") { Description = "Frame height (even).", DefaultValueFactory = _ => 480 };
        var fps = new Option<double>("--fps") { Description = "Frames per second.", DefaultValueFactory = _ => 30 };
        var fov = new Option<double>("--fov") { Description = "Horizontal field of view, degrees.", DefaultValueFactory = _ => 70 };
        var points = new Option<int>("--points") { Description = "Ground-truth point cloud size.", DefaultValueFactory = _ => 200_000 };
        var oracle = new Option<string?>("--vggt-model")
        {
            Description = "Also write a VGGT-signature ONNX model (weights in PATH_data beside it) whose outputs are this capture's ground " +
                "truth for any of its frames: tests the vggt reconstructor end to end without VGGT's weights.",
        };
        var workLayers = new Option<int>("--vggt-work-layers") { Description = "Extra MatMul layers in that model, to give it a cost (benchmarks).", DefaultValueFactory = _ => 0 };
        var workWidth = new Option<int>("--vggt-work-width") { Description = "Width of those layers.", DefaultValueFactory = _ => 768 };
        var command = new Command("synth", "Render a procedural room along a hand-held camera path: video with exact cameras, depth, labels and a ground-truth cloud.")
        {
            seed, frames, output, width, height, fps, fov, points, oracle, workLayers, workWidth,
        };
        command.SetAction((parse, ct) => CliRun.GuardAsync(() => RunAsync(
            new SynthSettings(parse.GetValue(seed), parse.GetValue(frames), parse.GetValue(width), parse.GetValue(height),
                parse.GetValue(fps), parse.GetValue(fov), parse.GetValue(points)),
            parse.GetValue(output)!,
            parse.GetValue(oracle) is { } model ? new OracleModelRequest(Path.GetFullPath(model), new OracleWork(parse.GetValue(workLayers), parse.GetValue(workWidth))) : null,
            ct)));
        return command;
    }

    private static async Task<int> RunAsync(SynthSettings settings, string output, OracleModelRequest? oracle, CancellationToken cancellationToken)
    {
        if (oracle?.Work is { Layers: < 0 } or { Width: < 1 }) throw new ArgumentException("--vggt-work-layers must be >= 0 and --vggt-work-width >= 1.");
        settings.Validate();
        var env = new CliEnvironment();
        var writer = new SyntheticCaptureWriter(FfmpegTools.Locate(env.Media.FfmpegFolder));
        SynthResult result = null!;
        await AnsiConsole.Progress()
            .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new RemainingTimeColumn())
            .StartAsync(async ctx =>
            {
                var task = ctx.AddTask($"seed {settings.Seed}: rendering {settings.Frames} frames", maxValue: settings.Frames);
                result = await writer.WriteAsync(settings, Path.GetFullPath(output), new Progress<int>(n => task.Value = n), cancellationToken,
                    oracle).ConfigureAwait(false);
            }).ConfigureAwait(false);

        AnsiConsole.MarkupLineInterpolated(
            $"Wrote {result.Folder}: {result.Frames} frames {settings.Width}x{settings.Height}, video {result.VideoBytes / 1024.0 / 1024.0:0.00} MiB, {result.Points} ground-truth points.");
        AnsiConsole.MarkupLineInterpolated(
            $"Render {result.RenderTime.TotalMilliseconds / result.Frames:0.0} ms/frame; total {result.TotalTime.TotalSeconds:0.0} s (render, encode, depth and label images).");
        if (oracle is not null)
            AnsiConsole.MarkupLineInterpolated($"Wrote the oracle VGGT model {oracle.Path} (+ {Path.GetFileName(oracle.Path)}_data): set reconstruct.method to vggt and reconstruct.modelPath to it.");
        return 0;
    }
}
