using System.Text.RegularExpressions;

namespace Concerto.Ingest.Media.Ffmpeg;

/// <summary>Turns the stderr tail of ffmpeg/ffprobe (lines joined by " | ", see <see cref="ToolProcess.ErrorTail"/>) into
/// a short detail for a one-line error: without the "[mov,mp4,... @ 0x55d0c1a2]" context prefixes (memory addresses
/// that differ on every run), without the input path ffprobe repeats, each message once (messages that differ only in
/// hex offsets count as one), cut at whole messages.</summary>
public static partial class FfmpegMessages
{
    public const int DefaultMaxLength = 240;

    public static string Summarize(string? stderrTail, string path, int maxLength = DefaultMaxLength)
    {
        ArgumentNullException.ThrowIfNull(path);
        var messages = new List<string>();
        var keys = new HashSet<string>(StringComparer.Ordinal);
        foreach (var line in (stderrTail ?? "").Split(" | ", StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var message = ContextPrefix().Replace(line, "").Trim();
            if (path.Length > 0 && message.StartsWith(path + ": ", StringComparison.Ordinal)) message = message[(path.Length + 2)..].Trim();
            if (message.Length == 0 || !keys.Add(HexNumber().Replace(message, "0x"))) continue;
            messages.Add(message);
        }

        if (messages.Count == 0) return "no message";

        // The last messages are the ones that ended the run; keep as many of them as fit, whole.
        var kept = new List<string>();
        var length = 0;
        for (var i = messages.Count - 1; i >= 0; i--)
        {
            var added = messages[i].Length + (kept.Count > 0 ? 2 : 0);
            if (kept.Count > 0 && length + added > maxLength) break;
            kept.Insert(0, messages[i]);
            length += added;
        }

        var text = string.Join("; ", kept);
        if (text.Length > maxLength) text = text[..(maxLength - 3)] + "...";
        return kept.Count < messages.Count ? "...; " + text : text;
    }

    [GeneratedRegex(@"^\[[^\]]*@ 0x[0-9a-fA-F]+\]\s*")]
    private static partial Regex ContextPrefix();

    [GeneratedRegex(@"0x[0-9a-fA-F]+")]
    private static partial Regex HexNumber();
}
