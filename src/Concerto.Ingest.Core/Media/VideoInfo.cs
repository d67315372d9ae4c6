namespace Concerto.Ingest.Core.Media;

/// <summary>What ffprobe says about a video's first video stream. Width and height are as displayed (rotation applied).</summary>
public sealed record VideoInfo(
    string Container,
    string Codec,
    int Width,
    int Height,
    int Rotation,
    double FrameRate,
    double DurationSeconds,
    long? FrameCount,
    bool HasAudio);

/// <summary>Size of the frames the decode stage asks ffmpeg for.</summary>
public readonly record struct FrameSize(int Width, int Height)
{
    public int ByteCount => Width * Height * 3;

    /// <summary>Scales <paramref name="source"/> to <paramref name="targetWidth"/> (never up), keeping the aspect
    /// ratio with both sides even, as encoders and ffmpeg's scale filter want.</summary>
    public static FrameSize FitWidth(int sourceWidth, int sourceHeight, int targetWidth)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(sourceWidth, 2);
        ArgumentOutOfRangeException.ThrowIfLessThan(sourceHeight, 2);
        var width = Math.Min(targetWidth, sourceWidth) & ~1;
        var height = (int)Math.Round(width * (double)sourceHeight / sourceWidth / 2.0) * 2;
        return new FrameSize(width, Math.Max(2, height));
    }
}
