using System.Globalization;
using Concerto.Ingest.Core.Media;
using Concerto.Ingest.Media.Ffmpeg;
using FFMpegCore;
using FFMpegCore.Exceptions;

namespace Concerto.Ingest.Media.Probe;

/// <summary>ffprobe metadata for a file (through FFMpegCore), or a <see cref="BadInputException"/> that says in one line why the file is
/// not a usable video and what to do about it.</summary>
public sealed class VideoProber(FfmpegTools tools)
{
    /// <exception cref="BadInputException">The file is missing, unreadable or not a usable video (the message says why
    /// and what to do).</exception>
    public async Task<VideoInfo> ProbeAsync(string path, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(path);
        CheckReadable(path);

        // FFMpegCore runs ffprobe (-show_format -show_streams, JSON) and reads its answer; what its model leaves out, and
        // what ffprobe says when it fails, is ours to interpret.
        var options = new FFOptions { BinaryFolder = Path.GetDirectoryName(tools.Ffprobe) ?? "" };
        IMediaAnalysis analysis;
        try
        {
            analysis = await FFProbe.AnalyseAsync(path, options, null, cancellationToken).ConfigureAwait(false);
        }
        catch (FFProbeProcessException e)
        {
            throw new BadInputException(UnreadableReason(path, FfmpegMessages.Summarize(string.Join(" | ", e.StandardError), path)), e);
        }
        catch (Exception e) when (e is FFMpegException or System.Text.Json.JsonException or FormatNullException)
        {
            throw new BadInputException(UnreadableReason(path, e.Message), e);
        }

        return Describe(path, analysis);
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

    internal static VideoInfo Describe(string path, IMediaAnalysis analysis)
    {
        var video = analysis.VideoStreams.FirstOrDefault(v => !(v.Disposition?.TryGetValue("attached_pic", out var cover) == true && cover));
        var hasAudio = analysis.AudioStreams.Count > 0;
        if (video is null)
            throw new BadInputException(hasAudio
                ? $"{path}: has no video stream (audio only). Only videos can be ingested."
                : $"{path}: has no video stream. Only videos can be ingested.");

        var width = video.Width ?? 0;
        var height = video.Height ?? 0;
        if (width < 2 || height < 2)
            throw new BadInputException($"{path}: video stream has no usable frame size ({width}x{height}).");

        // Anamorphic storage (non-square pixels): the displayed width is the stored width times the pixel aspect.
        var (aspectNumerator, aspectDenominator) = video.SampleAspectRatio;
        if (aspectNumerator > 0 && aspectDenominator > 0 && aspectNumerator != aspectDenominator)
            width = (int)Math.Round(width * (double)aspectNumerator / aspectDenominator);

        var rotation = Rotation(video);
        if (Math.Abs(rotation) % 180 == 90) (width, height) = (height, width);

        var rate = video.AverageFrameRate;
        if (!(rate is > 0 and <= 1000)) rate = video.RealFrameRate;
        if (!(rate is > 0 and <= 1000))
            throw new BadInputException($"{path}: video stream has no usable frame rate.");

        // The video stream's own duration (MP4's field, or Matroska/WebM's DURATION tag, which FFMpegCore reads): the
        // container's is the longest stream's, so an audio track outlasting the picture would make it too long.
        var duration = video.Duration > TimeSpan.Zero ? video.Duration : analysis.Format?.Duration ?? TimeSpan.Zero;
        return new VideoInfo(analysis.Format?.FormatName ?? "unknown", video.CodecName ?? "unknown", width, height, rotation, rate,
            Math.Max(0, duration.TotalSeconds), FrameCount(analysis, video), hasAudio);
    }

    /// <summary>The display rotation in degrees: FFMpegCore's reading (the display matrix's side data, else the legacy
    /// "rotate" tag), else the tag itself.</summary>
    private static int Rotation(VideoStream video)
    {
        if (video.Rotation != 0) return video.Rotation;
        return video.Tags?.TryGetValue("rotate", out var tag) == true
               && int.TryParse(tag, NumberStyles.Integer, CultureInfo.InvariantCulture, out var degrees) ? degrees : 0;
    }

    /// <summary>ffprobe's nb_frames for the stream, when the container records it (FFMpegCore keeps it in the raw
    /// stream's extra fields).</summary>
    private static long? FrameCount(IMediaAnalysis analysis, VideoStream video)
    {
        var raw = analysis.Raw?.Streams?.FirstOrDefault(s => s.Index == video.Index);
        if (raw?.ExtensionData is null || !raw.ExtensionData.TryGetValue("nb_frames", out var value)) return null;
        var text = value.ValueKind == System.Text.Json.JsonValueKind.String ? value.GetString() : value.ToString();
        return long.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out var n) && n > 0 ? n : null;
    }
}
