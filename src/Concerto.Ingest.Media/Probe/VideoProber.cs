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
        if (exit != 0) throw new BadInputException(UnreadableReason(path, FfmpegMessages.Summarize(stderr, path)));

        return Parse(path, stdout);
    }

    /// <summary>Why ffprobe could not read a file, in words a user can act on: what its first bytes show it to be (an
    /// MP4/MOV that lost its index, text), then ffprobe's own detail.</summary>
    private static string UnreadableReason(string path, string detail)
    {
        var head = ReadHead(path, 512);
        if (IsIsoMediaBox(head) && detail.Contains("moov atom not found", StringComparison.Ordinal))
            return $"{path}: not a readable video: an MP4/MOV file without its index (moov atom), so it is incomplete, as when a " +
                   $"recording was interrupted or a copy was cut short (ffprobe: {detail}). Re-copy it from its source or re-export it.";
        if (IsText(head))
            return $"{path}: not a readable video: it holds text, not video data (ffprobe: {detail}). Check that the right file was named.";
        return $"{path}: not a readable video (ffprobe: {detail}). Check that the file is a complete video; re-export or re-download it.";
    }

    private static byte[] ReadHead(string path, int count)
    {
        try
        {
            using var stream = File.OpenRead(path);
            var buffer = new byte[count];
            return buffer[..stream.ReadAtLeast(buffer, count, throwOnEndOfStream: false)];
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return [];
        }
    }

    /// <summary>An ISO base media file (MP4, MOV, 3GP) starts with a box: a 4-byte size, then a known 4-letter type.</summary>
    private static bool IsIsoMediaBox(ReadOnlySpan<byte> head) =>
        head.Length >= 8 && System.Text.Encoding.ASCII.GetString(head[4..8]) is "ftyp" or "mdat" or "moov" or "free" or "skip" or "wide";

    /// <summary>UTF-8 text: no NUL bytes, decodes (a character cut at the end of the sample is fine), nearly all printable.</summary>
    private static bool IsText(byte[] head)
    {
        if (head.Length == 0 || Array.IndexOf(head, (byte)0) >= 0) return false;
        var decoder = new System.Text.UTF8Encoding(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true).GetDecoder();
        var chars = new char[head.Length];
        int count;
        try
        {
            count = decoder.GetChars(head, 0, head.Length, chars, 0, flush: false);
        }
        catch (System.Text.DecoderFallbackException)
        {
            return false;
        }

        var control = 0;
        foreach (var c in chars.AsSpan(0, count))
            if (char.IsControl(c) && c is not ('\n' or '\r' or '\t' or '\f')) control++;
        return count > 0 && control * 50 <= count;
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

        // The video stream's own duration: MP4 gives it as a field, Matroska/WebM as a DURATION tag. The container's
        // duration is the longest stream's, so an audio track outlasting the picture would make it too long.
        var duration = Double(video, "duration");
        if (duration <= 0) duration = TagDuration(video);
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

    /// <summary>Matroska's per-stream "DURATION" tag, "HH:MM:SS.nnnnnnnnn"; 0 when absent or malformed.</summary>
    private static double TagDuration(JsonElement stream)
    {
        if (!stream.TryGetProperty("tags", out var tags) || tags.ValueKind != JsonValueKind.Object) return 0;
        foreach (var tag in tags.EnumerateObject())
        {
            if (!tag.Name.Equals("DURATION", StringComparison.OrdinalIgnoreCase) || tag.Value.ValueKind != JsonValueKind.String) continue;
            var parts = tag.Value.GetString()!.Split(':');
            if (parts.Length == 3
                && int.TryParse(parts[0], NumberStyles.None, CultureInfo.InvariantCulture, out var hours)
                && int.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out var minutes)
                && double.TryParse(parts[2], NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var seconds))
                return hours * 3600.0 + minutes * 60.0 + seconds;
        }

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
}
