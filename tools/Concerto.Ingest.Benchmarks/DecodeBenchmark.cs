using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using Concerto.Ingest.Cli;
using Concerto.Ingest.Media.Decode;
using Concerto.Ingest.Media.Ffmpeg;
using Concerto.Ingest.Media.Probe;
using Spectre.Console;

namespace Concerto.Ingest.Benchmarks;

/// <summary>`concerto bench decode VIDEO`: our decode stage's frame work (ffmpeg through the pipe, sharpness of every
/// frame, keyframe selection, keyframe images written) against bare ffmpeg running the same decode + scale arguments on
/// the same file, in one run, as a frame-rate ratio; then that work's peak memory (this process, not ffmpeg's) on the
/// video and on a copy N times longer (made by stream copy, no re-encode), each in a fresh child process. The stage's
/// database commit (binary COPY of the scores) is not included.</summary>
public static class DecodeBenchmark
{
    /// <summary>`bench decode` and the hidden `bench decode-once` it runs in child processes.</summary>
    public static IEnumerable<Command> Create()
    {
        var video = new Argument<string>("video") { Description = "Video file to decode." };
        var profile = new Option<string?>("--profile", "-p") { Description = $"Pipeline profile (default {CliEnvironment.DefaultProfile})." };
        var repeat = new Option<int>("--repeat") { Description = "Timed repetitions of each side; the best of each counts.", DefaultValueFactory = _ => 3 };
        var longer = new Option<int>("--length-factor") { Description = "How many times longer the memory comparison video is.", DefaultValueFactory = _ => 10 };
        var decode = new Command("decode", "Decode stage frame rate vs bare ffmpeg, and peak memory vs video length.") { video, profile, repeat, longer };
        decode.SetAction((parse, ct) => CliRun.GuardAsync(() => DecodeAsync(parse.GetValue(video)!, parse.GetValue(profile), parse.GetValue(repeat),
            parse.GetValue(longer), ct)));

        // Internal: one decode in a fresh process, printing its peak resident memory (used by `bench decode`).
        var childVideo = new Argument<string>("video");
        var child = new Command("decode-once", "(internal) run the decode stage once and print peak memory.") { childVideo, profile };
        child.Hidden = true;
        child.SetAction((parse, ct) => CliRun.GuardAsync(() => DecodeOnceAsync(parse.GetValue(childVideo)!, parse.GetValue(profile), ct)));

        return [decode, child];
    }

    private static async Task<int> DecodeAsync(string path, string? profilePath, int repeat, int lengthFactor, CancellationToken cancellationToken)
    {
        var env = new CliEnvironment();
        var settings = CliEnvironment.LoadProfile(profilePath).Profile.Decode;
        var tools = FfmpegTools.Locate(env.Media.FfmpegFolder);
        var info = await new VideoProber(tools).ProbeAsync(path, cancellationToken).ConfigureAwait(false);
        var (size, rate) = KeyframeExtractor.Plan(info, settings);
        var extractor = new KeyframeExtractor(tools);
        var scratch = Directory.CreateTempSubdirectory("concerto-bench-");
        try
        {
            AnsiConsole.MarkupLineInterpolated($"{Path.GetFileName(path)}: {info.Width}x{info.Height} {info.Codec}, {info.DurationSeconds:0.0} s at {info.FrameRate:0.##} fps -> {size.Width}x{size.Height} at {rate:0.##} fps");
            double bestBare = double.MaxValue, bestOurs = double.MaxValue;
            var frames = 0;
            for (var i = 0; i < Math.Max(1, repeat); i++)
            {
                var clock = Stopwatch.StartNew();
                var (exit, _, errors) = await ToolProcess.RunAsync(tools.Ffmpeg, FfmpegDecodeArguments.For(path, size, rate, "/dev/null"), cancellationToken)
                    .ConfigureAwait(false);
                if (exit != 0) throw new InvalidOperationException($"bare ffmpeg failed on {path}: {errors}");
                bestBare = Math.Min(bestBare, clock.Elapsed.TotalSeconds);

                var output = Path.Combine(scratch.FullName, $"ours-{i}");
                clock.Restart();
                var result = await extractor.ExtractAsync(path, info, settings, output, null, cancellationToken).ConfigureAwait(false);
                bestOurs = Math.Min(bestOurs, clock.Elapsed.TotalSeconds);
                frames = result.Frames.Count;
                Directory.Delete(output, recursive: true);
            }

            var longPath = Path.Combine(scratch.FullName, "longer" + Path.GetExtension(path));
            var (loopExit, _, loopErrors) = await ToolProcess.RunAsync(tools.Ffmpeg,
                ["-hide_banner", "-v", "error", "-stream_loop", (lengthFactor - 1).ToString(CultureInfo.InvariantCulture), "-i", path,
                 "-map", "0:v:0", "-c", "copy", "-y", longPath], cancellationToken).ConfigureAwait(false);
            if (loopExit != 0) throw new InvalidOperationException($"could not make the {lengthFactor}x video: {loopErrors}");

            var shortPeak = await PeakMemoryKbAsync(path, profilePath, cancellationToken).ConfigureAwait(false);
            var longPeak = await PeakMemoryKbAsync(longPath, profilePath, cancellationToken).ConfigureAwait(false);

            var table = new Table().Border(TableBorder.Simple).AddColumns("measure", "value");
            table.AddRow("frames per pass", frames.ToString(CultureInfo.InvariantCulture));
            table.AddRow("bare ffmpeg (best of " + repeat + ")", $"{frames / bestBare:0.0} fps ({bestBare:0.000} s)");
            table.AddRow("decode stage, frame work (best of " + repeat + ")", $"{frames / bestOurs:0.0} fps ({bestOurs:0.000} s)");
            table.AddRow("[bold]ratio stage / bare[/]", $"[bold]{bestBare / bestOurs:0.000}x[/]");
            table.AddRow("peak memory, this video", $"{shortPeak / 1024.0:0.0} MiB");
            table.AddRow($"peak memory, {lengthFactor}x longer", $"{longPeak / 1024.0:0.0} MiB");
            table.AddRow($"[bold]memory ratio {lengthFactor}x / 1x[/]", $"[bold]{(double)longPeak / shortPeak:0.000}x[/]");
            AnsiConsole.Write(table);
            return 0;
        }
        finally
        {
            scratch.Delete(recursive: true);
        }
    }

    private static async Task<long> PeakMemoryKbAsync(string video, string? profilePath, CancellationToken cancellationToken)
    {
        var apphost = Path.Combine(AppContext.BaseDirectory, BenchProgram.Name);
        var (exe, prefix) = File.Exists(apphost)
            ? (apphost, Array.Empty<string>())
            : ("dotnet", new[] { Path.Combine(AppContext.BaseDirectory, BenchProgram.Name + ".dll") });
        string[] args = [.. prefix, "bench", "decode-once", video, .. profilePath is null ? Array.Empty<string>() : ["--profile", profilePath]];
        var (exit, stdout, errors) = await ToolProcess.RunAsync(exe, args, cancellationToken).ConfigureAwait(false);
        var line = stdout.Split('\n').FirstOrDefault(l => l.StartsWith("peak_rss_kb=", StringComparison.Ordinal));
        if (exit != 0 || line is null) throw new InvalidOperationException($"memory probe failed on {video}: {stdout} {errors}");
        return long.Parse(line["peak_rss_kb=".Length..], CultureInfo.InvariantCulture);
    }

    private static async Task<int> DecodeOnceAsync(string path, string? profilePath, CancellationToken cancellationToken)
    {
        var env = new CliEnvironment();
        var settings = CliEnvironment.LoadProfile(profilePath).Profile.Decode;
        var tools = FfmpegTools.Locate(env.Media.FfmpegFolder);
        var info = await new VideoProber(tools).ProbeAsync(path, cancellationToken).ConfigureAwait(false);
        var output = Directory.CreateTempSubdirectory("concerto-bench-once-");
        try
        {
            await new KeyframeExtractor(tools).ExtractAsync(path, info, settings, output.FullName, null, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            output.Delete(recursive: true);
        }

        var peak = File.ReadLines("/proc/self/status").First(l => l.StartsWith("VmHWM:", StringComparison.Ordinal));
        System.Console.WriteLine("peak_rss_kb=" + peak["VmHWM:".Length..].Replace("kB", "", StringComparison.Ordinal).Trim());
        return 0;
    }
}
