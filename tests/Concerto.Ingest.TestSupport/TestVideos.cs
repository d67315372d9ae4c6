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

    /// <summary>A 640x360 pattern stored with a display rotation (phones do this): a display matrix in the MP4, which
    /// players and ffmpeg's decoder apply, so the video shows 360x640 for 90 and 270 degrees.</summary>
    public static async Task<string> RotatedAsync(int degrees = 90)
    {
        var plain = await PatternAsync(2).ConfigureAwait(false);
        return await MakeAsync(degrees == 90 ? "rotated.mp4" : $"rotated-{degrees}.mp4",
            ["-i", plain, "-c", "copy", "-metadata:s:v:0", $"rotate={degrees}"]).ConfigureAwait(false);
    }

    /// <summary>A very large frame (8K UHD by default), cheaply made: a 1 s, 5 fps pattern drawn at an eighth of the size
    /// and scaled up with nearest-neighbour sampling (so it stays sharp), encoded with x264's fastest preset.</summary>
    public static Task<string> HugeAsync(int width = 7680, int height = 4320) =>
        MakeAsync($"huge-{width}x{height}.mp4",
            ["-f", "lavfi", "-i", $"testsrc2=size={width / 8}x{height / 8}:rate=5", "-t", "1", "-vf", $"scale={width}:{height}:flags=neighbor",
             "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p"]);

    /// <summary>Variable frame rate: a 4 s, 320x180 pattern at 10 fps for its first 2 s and 60 fps for the last 2 s (140
    /// frames, each with its own duration), as phones and screen recorders write when the scene or the light changes.</summary>
    public static Task<string> VariableFrameRateAsync() =>
        MakeAsync("vfr-10-then-60.mp4",
            ["-f", "lavfi", "-i", "testsrc2=size=320x180:rate=60", "-t", "4", "-vf", "select='gte(t,2)+not(mod(n,6))'", "-fps_mode", "vfr",
             "-c:v", "libx264", "-pix_fmt", "yuv420p"]);

    /// <summary>Many small frames: <paramref name="frames"/> frames of a 160x90 pattern at <paramref name="fps"/>.</summary>
    public static Task<string> ManyFramesAsync(int frames = 3000, int fps = 100) =>
        MakeAsync($"many-{frames}-at-{fps}.mp4",
            ["-f", "lavfi", "-i", $"testsrc2=size=160x90:rate={fps}", "-frames:v", $"{frames}", "-c:v", "libx264", "-preset", "veryfast",
             "-pix_fmt", "yuv420p"]);

    /// <summary>Stored 320x240 with 2:1 pixels (anamorphic), so displayed 640x240.</summary>
    public static Task<string> AnamorphicAsync() =>
        MakeAsync("anamorphic.mp4",
            ["-f", "lavfi", "-i", "testsrc2=size=320x240:rate=30", "-t", "1", "-vf", "setsar=2", "-c:v", "libx264", "-pix_fmt", "yuv420p"]);

    /// <summary>Matroska with 2 s of 320x180 picture (60 frames) and 10 s of sound: the container's duration is the
    /// audio's, and Matroska gives the video stream's own only as a DURATION tag.</summary>
    public static Task<string> AudioOutlastsVideoAsync() =>
        MakeAsync("audio-outlasts-video.mkv",
            ["-f", "lavfi", "-i", "testsrc2=size=320x180:rate=30:duration=2", "-f", "lavfi", "-i", "sine=frequency=440:duration=10",
             "-map", "0:v", "-map", "1:a", "-c:v", "libx264", "-pix_fmt", "yuv420p", "-c:a", "libvorbis"]);

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

    /// <summary>The first <paramref name="bytes"/> of a pattern video whose index (moov) is written last, as a recorder
    /// leaves a file it never finished: no index at all, so nothing in it can be read.</summary>
    public static async Task<string> CutBeforeIndexAsync(int bytes = 60_000)
    {
        var full = await PatternAsync(seconds: 8).ConfigureAwait(false);
        var path = Path.Combine(Folder, $"cut-before-index-{bytes}.mp4");
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
