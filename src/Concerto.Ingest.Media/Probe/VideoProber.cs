using System.Globalization;
using System.Text.Json;
using Concerto.Ingest.Core.Media;
using Concerto.Ingest.Media.Ffmpeg;

namespace Concerto.Ingest.Media.Probe;

/// <summary>ffprobe metadata for a file, or a <see cref="BadInputException"/> that says in one line why the file is
/// not a usable video and what to do about it.</summary>
public sealed class VideoProber(FfmpegTools tools)
{
    public async Task<VideoInfo> ProbeAsync(string path, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(path);
        CheckReadable(path);

        var (exit, stdout, stderr) = await ToolProcess.RunAsync(tools.Ffprobe,
            ["-v", "error", "-print_format", "json", "-show_format", "-show_streams", "--", path],
            cancellationToken).ConfigureAwait(false);
        if (exit != 0)
            throw new BadInputException(
                $"{path}: not a readable video (ffprobe: {FirstLine(stderr, "no details").Replace(path + ": ", "", StringComparison.Ordinal)}). Check that the file is a complete video; re-export or re-download it.");

        return Parse(path, stdout);
    }

    /// <summary>Fails early, with a precise reason, for the cases ffprobe would report vaguely.</summary>
    public static void CheckReadable(string path)
    {
        var file = new FileInfo(path);
        if (Directory.Exists(path))
            throw new BadInputException($"{path}: is a folder, not a video file.");
        if (!file.Exists)
            throw new BadInputException($"{path}: file does not exist. Check the path.");
        if (file.Length == 0)
            throw new BadInputException($"{path}: file is empty (0 bytes). Re-copy or re-download it.");
        try
        {
            using var _ = file.OpenRead();
        }
        catch (UnauthorizedAccessException)
        {
            throw new BadInputException($"{path}: cannot be read (permission denied). Fix its permissions for the worker's user.");
        }
        catch (IOException e)
        {
            throw new BadInputException($"{path}: cannot be read ({e.Message}).", e);
        }
    }

    internal static VideoInfo Parse(string path, string json)
    {
        using var doc = JsonDocument.Parse(json);
        var root = doc.RootElement;
        var streams = root.TryGetProperty("streams", out var s) ? s.EnumerateArray().ToList() : [];
        var video = streams.FirstOrDefault(x => Str(x, "codec_type") == "video" && !IsAttachedPicture(x));
        var hasAudio = streams.Any(x => Str(x, "codec_type") == "audio");
        if (video.ValueKind == JsonValueKind.Undefined)
            throw new BadInputException(hasAudio
                ? $"{path}: has no video stream (audio only). Only videos can be ingested."
                : $"{path}: has no video stream. Only videos can be ingested.");

        var format = root.TryGetProperty("format", out var f) ? f : default;
        var width = Int(video, "width");
        var height = Int(video, "height");
        if (width < 2 || height < 2)
            throw new BadInputException($"{path}: video stream has no usable frame size ({width}x{height}).");

        // Anamorphic storage (non-square pixels): the displayed width is the stored width times the pixel aspect.
        var pixelAspect = Rational(Str(video, "sample_aspect_ratio")?.Replace(':', '/'));
        if (pixelAspect > 0 && Math.Abs(pixelAspect - 1) > 1e-3) width = (int)Math.Round(width * pixelAspect);

        var rotation = Rotation(video);
        if (Math.Abs(rotation) % 180 == 90) (width, height) = (height, width);

        var rate = Rational(Str(video, "avg_frame_rate"));
        if (rate is <= 0 or > 1000) rate = Rational(Str(video, "r_frame_rate"));
        if (rate is <= 0 or > 1000)
            throw new BadInputException($"{path}: video stream has no usable frame rate.");

        var duration = Double(video, "duration");
        if (duration <= 0 && format.ValueKind == JsonValueKind.Object) duration = Double(format, "duration");
        long? frameCount = long.TryParse(Str(video, "nb_frames"), NumberStyles.Integer, CultureInfo.InvariantCulture, out var n) && n > 0 ? n : null;

        return new VideoInfo(
            format.ValueKind == JsonValueKind.Object ? Str(format, "format_name") ?? "unknown" : "unknown",
            Str(video, "codec_name") ?? "unknown",
            width, height, rotation, rate, Math.Max(0, duration), frameCount, hasAudio);
    }

    private static bool IsAttachedPicture(JsonElement stream) =>
        stream.TryGetProperty("disposition", out var d) && d.TryGetProperty("attached_pic", out var a) && a.GetInt32() == 1;

    private static int Rotation(JsonElement video)
    {
        if (video.TryGetProperty("side_data_list", out var sides))
        {
            foreach (var side in sides.EnumerateArray())
                if (side.TryGetProperty("rotation", out var r) && r.TryGetDouble(out var deg))
                    return (int)Math.Round(deg);
        }

        if (video.TryGetProperty("tags", out var tags) && tags.TryGetProperty("rotate", out var rotate)
            && int.TryParse(rotate.GetString(), NumberStyles.Integer, CultureInfo.InvariantCulture, out var tagDeg))
            return tagDeg;
        return 0;
    }

    private static string? Str(JsonElement e, string name) =>
        e.TryGetProperty(name, out var v) ? v.ValueKind == JsonValueKind.String ? v.GetString() : v.ToString() : null;

    private static int Int(JsonElement e, string name) => e.TryGetProperty(name, out var v) && v.TryGetInt32(out var i) ? i : 0;

    private static double Double(JsonElement e, string name) =>
        double.TryParse(Str(e, name), NumberStyles.Float, CultureInfo.InvariantCulture, out var d) ? d : 0;

    private static double Rational(string? text)
    {
        if (string.IsNullOrEmpty(text)) return 0;
        var parts = text.Split('/');
        if (!double.TryParse(parts[0], NumberStyles.Float, CultureInfo.InvariantCulture, out var num)) return 0;
        if (parts.Length == 1) return num;
        return double.TryParse(parts[1], NumberStyles.Float, CultureInfo.InvariantCulture, out var den) && den != 0 ? num / den : 0;
    }

    private static string FirstLine(string text, string fallback)
    {
        var line = text.Split(" | ", StringSplitOptions.RemoveEmptyEntries).LastOrDefault()?.Trim();
        return string.IsNullOrEmpty(line) ? fallback : line;
    }
}
