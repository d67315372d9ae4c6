using System.Diagnostics;

namespace Concerto.Ingest.TestSupport;

/// <summary>Short test videos made with ffmpeg's own test sources, cached per test run in a temp folder.</summary>
public static class TestVideos
{
    public static string Folder { get; } = Directory.CreateTempSubdirectory("concerto-test-videos-").FullName;

    private static readonly Dictionary<string, Task<string>> Made = [];

    /// <summary>testsrc2 pattern (sharp, moving), H.264 MP4.</summary>
    public static Task<string> PatternAsync(int seconds = 4, int width = 640, int height = 360, int fps = 30) =>
        MakeAsync($"pattern-{seconds}s-{width}x{height}-{fps}.mp4",
            ["-f", "lavfi", "-i", $"testsrc2=size={width}x{height}:rate={fps}", "-t", $"{seconds}", "-c:v", "libx264", "-pix_fmt", "yuv420p", "-g", "30"]);

    /// <summary>A pattern whose first <paramref name="blurredSeconds"/> are heavily blurred.</summary>
    public static Task<string> PartlyBlurredAsync(int seconds, int blurredSeconds) =>
        MakeAsync($"blurred-{seconds}s-{blurredSeconds}.mp4",
            ["-f", "lavfi", "-i", "testsrc2=size=640x360:rate=30", "-t", $"{seconds}",
             "-vf", $"boxblur=luma_radius=12:luma_power=3:enable='lt(t,{blurredSeconds})'", "-c:v", "libx264", "-pix_fmt", "yuv420p"]);

    /// <summary>A 640x360 pattern stored with a 90 degree display rotation (phones do this).</summary>
    public static async Task<string> RotatedAsync()
    {
        var plain = await PatternAsync(2).ConfigureAwait(false);
        return await MakeAsync("rotated.mp4", ["-i", plain, "-c", "copy", "-metadata:s:v:0", "rotate=90"]).ConfigureAwait(false);
    }

    /// <summary>Stored 320x240 with 2:1 pixels (anamorphic), so displayed 640x240.</summary>
    public static Task<string> AnamorphicAsync() =>
        MakeAsync("anamorphic.mp4",
            ["-f", "lavfi", "-i", "testsrc2=size=320x240:rate=30", "-t", "1", "-vf", "setsar=2", "-c:v", "libx264", "-pix_fmt", "yuv420p"]);

    /// <summary>Audio only, in an .mp4 container.</summary>
    public static Task<string> AudioOnlyAsync() =>
        MakeAsync("audio-only.mp4", ["-f", "lavfi", "-i", "sine=frequency=440:duration=2", "-c:a", "aac"]);

    /// <summary>The first <paramref name="bytes"/> of a pattern video whose index (moov) is written first, so the
    /// container parses but the media data stops early.</summary>
    public static async Task<string> TruncatedAsync(int bytes = 60_000)
    {
        var full = await MakeAsync("faststart.mp4",
            ["-f", "lavfi", "-i", "testsrc2=size=640x360:rate=30", "-t", "8", "-c:v", "libx264", "-pix_fmt", "yuv420p", "-movflags", "+faststart"])
            .ConfigureAwait(false);
        var path = Path.Combine(Folder, $"truncated-{bytes}.mp4");
        if (!File.Exists(path))
        {
            var data = await File.ReadAllBytesAsync(full).ConfigureAwait(false);
            await File.WriteAllBytesAsync(path, data[..bytes]).ConfigureAwait(false);
        }

        return path;
    }

    public static string TextFile(string name = "notes.mp4")
    {
        var path = Path.Combine(Folder, name);
        File.WriteAllText(path, "this is not a video\n");
        return path;
    }

    public static string EmptyFile(string name = "empty.mp4")
    {
        var path = Path.Combine(Folder, name);
        File.WriteAllBytes(path, []);
        return path;
    }

    private static Task<string> MakeAsync(string name, string[] args)
    {
        lock (Made)
        {
            if (!Made.TryGetValue(name, out var task)) Made[name] = task = Task.Run(() => RunFfmpegAsync(name, args));
            return task;
        }
    }

    private static async Task<string> RunFfmpegAsync(string name, string[] args)
    {
        var path = Path.Combine(Folder, name);
        var info = new ProcessStartInfo("ffmpeg") { RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in new[] { "-hide_banner", "-v", "error", "-nostdin" }.Concat(args).Append("-y").Append(path)) info.ArgumentList.Add(a);
        using var process = Process.Start(info)!;
        var errors = await process.StandardError.ReadToEndAsync().ConfigureAwait(false);
        await process.WaitForExitAsync().ConfigureAwait(false);
        if (process.ExitCode != 0) throw new InvalidOperationException($"ffmpeg could not make {name}: {errors}");
        return path;
    }
}
