using Concerto.Ingest.Core.Media;
using Concerto.Ingest.Core.Profiles;
using Concerto.Ingest.Core.Sampling;
using Concerto.Ingest.Media.Ffmpeg;

namespace Concerto.Ingest.Media.Decode;

/// <summary>Sharpness of one analysed frame; <paramref name="Time"/> is seconds from the start of the video.</summary>
public readonly record struct FrameScore(long FrameIndex, double Time, double Sharpness);

/// <summary>A keyframe written to disk: <paramref name="FileName"/> is relative to the output folder.</summary>
public sealed record Keyframe(long FrameIndex, double Time, double Sharpness, string FileName);

public sealed record DecodeResult(FrameSize Size, double AnalysisRate, IReadOnlyList<FrameScore> Frames, IReadOnlyList<Keyframe> Keyframes);

public readonly record struct DecodeProgress(long FramesDecoded, long FramesExpected);

/// <summary>The decode stage's work: stream frames out of ffmpeg, score each one's sharpness, keep the sharpest frame
/// of every sampling window and write it as an image. At most a handful of frames are in memory at any time.</summary>
public sealed class KeyframeExtractor(FfmpegTools tools)
{
    /// <summary>A decode that yields fewer than this share of the frames the container promises is a truncated file.</summary>
    private const double MinDecodedShare = 0.5;

    /// <summary>Frame size and analysis rate the stage asks ffmpeg for (the decode benchmark asks bare ffmpeg the same).</summary>
    public static (FrameSize Size, double Rate) Plan(VideoInfo video, DecodeSettings settings)
    {
        ArgumentNullException.ThrowIfNull(video);
        ArgumentNullException.ThrowIfNull(settings);
        return (FrameSize.FitWidth(video.Width, video.Height, settings.Width), Math.Min(settings.AnalysisFps ?? video.FrameRate, video.FrameRate));
    }

    public async Task<DecodeResult> ExtractAsync(
        string path, VideoInfo video, DecodeSettings settings, string outputFolder,
        IProgress<DecodeProgress>? progress, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(video);
        ArgumentNullException.ThrowIfNull(settings);
        Directory.CreateDirectory(outputFolder);

        var (size, rate) = Plan(video, settings);
        var expected = (long)Math.Floor(video.DurationSeconds * rate);
        var selector = new KeyframeSelector(KeyframeSelector.WindowFor(settings.Sampling, video.DurationSeconds), settings.MinSharpness);

        var frames = new List<FrameScore>(expected > 0 ? (int)Math.Min(expected + 16, 1 << 20) : 1024);
        var keyframes = new List<Keyframe>();
        var held = GC.AllocateUninitializedArray<byte>(size.ByteCount, pinned: true);
        var heldAddress = System.Runtime.InteropServices.Marshal.UnsafeAddrOfPinnedArrayElement(held, 0);

        using var meter = new SharpnessMeter();
        using var writer = new KeyframeImageWriter(settings.ImageFormat, settings.JpegQuality);
        await using var reader = RawFrameReader.Start(tools, path, size, rate, cancellationToken);

        void WriteHeld(KeyframeSelector.Candidate c)
        {
            var name = $"{c.FrameIndex:D7}{writer.Extension}";
            writer.Write(heldAddress, size, Path.Combine(outputFolder, name));
            keyframes.Add(new Keyframe(c.FrameIndex, c.Time, c.Sharpness, name));
        }

        await foreach (var frame in reader.ReadAllAsync(cancellationToken).ConfigureAwait(false))
        {
            var time = frame.Index / rate;
            var sharpness = meter.Measure(frame.Address, size);
            frames.Add(new FrameScore(frame.Index, time, sharpness));

            var verdict = selector.Offer(frame.Index, time, sharpness);
            if (verdict.Closed is { } closed) WriteHeld(closed);
            if (verdict.KeepPixels) frame.Pixels.AsSpan().CopyTo(held);
            reader.Recycle(frame);

            if ((frame.Index & 15) == 0) progress?.Report(new DecodeProgress(frames.Count, expected));
        }

        if (selector.Flush() is { } last) WriteHeld(last);

        var (exit, errors) = await reader.CompleteAsync(cancellationToken).ConfigureAwait(false);
        if (exit > 128)
            throw new IOException($"ffmpeg was killed by signal {exit - 128} while decoding {path} (out of memory, or stopped by an operator); the stage will be retried.");
        if (exit != 0)
            throw new BadInputException($"{path}: ffmpeg could not decode the video (exit {exit}: {FfmpegMessages.Summarize(errors, path)}). The file may be damaged or truncated.");
        if (frames.Count == 0)
            throw new BadInputException($"{path}: no frames could be decoded ({FfmpegMessages.Summarize(errors, path)}). The file may be damaged or truncated.");
        if (expected > 10 && frames.Count < expected * MinDecodedShare)
            throw new BadInputException(
                $"{path}: truncated: decoded {frames.Count} of the {expected} frames its header promises ({FfmpegMessages.Summarize(errors, path)}). Re-copy or re-download the file.");

        progress?.Report(new DecodeProgress(frames.Count, Math.Max(expected, frames.Count)));
        return new DecodeResult(size, rate, frames, keyframes);
    }
}
