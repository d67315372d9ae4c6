using System.Globalization;
using Concerto.Ingest.Core.Media;

namespace Concerto.Ingest.Media.Decode;

/// <summary>The one ffmpeg command line the decode stage uses: constant-rate resampling (so frame i is at i / rate
/// even for variable-frame-rate input) and scaling happen inside ffmpeg; raw rgb24 frames go to stdout. The decode
/// benchmark runs the very same arguments bare, so the comparison is like for like.</summary>
public static class FfmpegDecodeArguments
{
    public static IReadOnlyList<string> For(string path, FrameSize size, double rate, string output = "pipe:1")
    {
        var fps = rate.ToString("0.######", CultureInfo.InvariantCulture);
        return
        [
            "-hide_banner", "-nostdin", "-v", "error",
            "-i", path,
            "-map", "0:v:0", "-an", "-sn", "-dn",
            "-vf", $"fps={fps},scale={size.Width}:{size.Height}",
            "-fps_mode", "passthrough",
            "-f", "rawvideo", "-pix_fmt", "rgb24",
            "-y", output,
        ];
    }
}
