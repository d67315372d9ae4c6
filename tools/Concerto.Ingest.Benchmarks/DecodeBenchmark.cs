using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using Concerto.Ingest.Cli;
using Concerto.Ingest.Core.Media;
using Concerto.Ingest.Media.Decode;
using Concerto.Ingest.Media.Ffmpeg;
using Concerto.Ingest.Media.Probe;
using FFMpegCore;
using FFMpegCore.Pipes;
using Spectre.Console;

namespace Concerto.Ingest.Benchmarks;

/// <summary>`concerto bench decode VIDEO`: our decode stage's frame work (ffmpeg through the pipe, sharpness of every
/// frame, keyframe selection, keyframe images written) against bare ffmpeg running the same decode + scale arguments on
/// the same file, in one run, as a frame-rate ratio; then that work's peak memory (this process, not ffmpeg's) on the
/// video and on a copy N times longer (made by stream copy, no re-encode), each in a fresh child process. The stage's
/// database commit (binary COPY of the scores) is not included. Also the pipe alone, ours against FFMpegCore's, on the
/// same arguments: the figure behind keeping our own decode pipe (see docs/benchmarks.md).</summary>
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

            // The pipe alone, ours against FFMpegCore's: the same ffmpeg decode + scale arguments, every rgb24 frame read
            // into one buffer and dropped, best of the same repetitions.
            double bestOurPipe = double.MaxValue, bestLibraryPipe = double.MaxValue;
            for (var i = 0; i < Math.Max(1, repeat); i++)
            {
                var clock = Stopwatch.StartNew();
                var ours = await ReadThroughOurPipeAsync(tools, path, size, rate, cancellationToken).ConfigureAwait(false);
                bestOurPipe = Math.Min(bestOurPipe, clock.Elapsed.TotalSeconds);
                clock.Restart();
                var theirs = await ReadThroughFfmpegCoreAsync(tools, path, size, rate, cancellationToken).ConfigureAwait(false);
                bestLibraryPipe = Math.Min(bestLibraryPipe, clock.Elapsed.TotalSeconds);
                if (ours != theirs) throw new InvalidOperationException($"the two pipes gave {ours} and {theirs} frames of {path}");
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
            table.AddRow("pipe only: ours (ToolProcess)", $"{frames / bestOurPipe:0.0} fps ({bestOurPipe:0.000} s)");
            table.AddRow("pipe only: FFMpegCore (StreamPipeSink)", $"{frames / bestLibraryPipe:0.0} fps ({bestLibraryPipe:0.000} s)");
            table.AddRow("[bold]pipe ratio FFMpegCore / ours[/]", $"[bold]{bestOurPipe / bestLibraryPipe:0.000}x[/]");
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

    /// <summary>Frames read through our own pipe (what the decode stage uses): ffmpeg's stdout, frame by frame.</summary>
    private static async Task<int> ReadThroughOurPipeAsync(FfmpegTools tools, string path, FrameSize size, double rate, CancellationToken cancellationToken)
    {
        using var ffmpeg = ToolProcess.Start(tools.Ffmpeg, FfmpegDecodeArguments.For(path, size, rate), cancellationToken);
        var frames = await CountFramesAsync(ffmpeg.Output, size.ByteCount, cancellationToken).ConfigureAwait(false);
        var exit = await ffmpeg.WaitForExitAsync(cancellationToken).ConfigureAwait(false);
        return exit == 0 ? frames : throw new InvalidOperationException($"ffmpeg failed on {path}: {ffmpeg.ErrorTail}");
    }

    /// <summary>The same frames through FFMpegCore: the same arguments after the input, its pipe sink reading them.</summary>
    private static async Task<int> ReadThroughFfmpegCoreAsync(FfmpegTools tools, string path, FrameSize size, double rate, CancellationToken cancellationToken)
    {
        var arguments = FfmpegDecodeArguments.For(path, size, rate).ToList();
        var afterInput = arguments.Skip(arguments.IndexOf(path) + 1).TakeWhile(a => a != "-y").ToList();
        var frames = 0;
        var sink = new StreamPipeSink(async (stream, token) => frames = await CountFramesAsync(stream, size.ByteCount, token).ConfigureAwait(false));
        await FFMpegArguments.FromFileInput(path)
            .OutputToPipe(sink, o => o.WithCustomArgument(string.Join(' ', afterInput.Select(a => a.Contains(' ', StringComparison.Ordinal) ? $"\"{a}\"" : a))))
            .ProcessAsynchronously(throwOnError: true, new FFOptions { BinaryFolder = Path.GetDirectoryName(tools.Ffmpeg) ?? "" }, cancellationToken)
            .ConfigureAwait(false);
        return frames;
    }

    private static async Task<int> CountFramesAsync(Stream stream, int frameBytes, CancellationToken cancellationToken)
    {
        var buffer = new byte[frameBytes];
        var frames = 0;
        while (await stream.ReadAtLeastAsync(buffer, frameBytes, throwOnEndOfStream: false, cancellationToken).ConfigureAwait(false) == frameBytes) frames++;
        return frames;
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
