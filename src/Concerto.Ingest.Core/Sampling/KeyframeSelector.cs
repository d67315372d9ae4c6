namespace Concerto.Ingest.Core.Sampling;

/// <summary>Streaming keyframe choice: time is cut into windows of equal length and each window keeps its sharpest
/// frame, if that frame is sharp enough. Frames arrive one at a time; memory stays constant.</summary>
/// <remarks>The caller holds the pixels of the current window's best frame: when <see cref="Verdict.KeepPixels"/> is
/// set it copies the frame just offered, and when <see cref="Verdict.Closed"/> is set it first writes out the frame it
/// was holding, which is the closed window's keyframe.</remarks>
public sealed class KeyframeSelector
{
    private readonly double _windowSeconds;
    private readonly double _minSharpness;
    private long _window = -1;
    private Candidate? _best;

    public KeyframeSelector(double windowSeconds, double minSharpness)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(windowSeconds);
        _windowSeconds = windowSeconds;
        _minSharpness = minSharpness;
    }

    /// <summary>Window length for a target rate, or for a count spread over a known duration.</summary>
    public static double WindowFor(Profiles.SamplingSettings sampling, double durationSeconds)
    {
        ArgumentNullException.ThrowIfNull(sampling);
        return sampling.Mode switch
        {
            Profiles.SamplingMode.Fps => 1.0 / sampling.Fps!.Value,
            _ when durationSeconds > 0 => durationSeconds / sampling.Count!.Value,
            _ => 1.0, // duration unknown: one keyframe per second
        };
    }

    public readonly record struct Candidate(long FrameIndex, double Time, double Sharpness);

    public readonly record struct Verdict(Candidate? Closed, bool KeepPixels);

    public Verdict Offer(long frameIndex, double time, double sharpness)
    {
        var window = (long)Math.Floor(time / _windowSeconds + 1e-9);
        Candidate? closed = null;
        if (window != _window)
        {
            closed = _best;
            _best = null;
            _window = window;
        }

        var keep = sharpness >= _minSharpness && (_best is null || sharpness > _best.Value.Sharpness);
        if (keep) _best = new Candidate(frameIndex, time, sharpness);
        return new Verdict(closed, keep);
    }

    /// <summary>Ends the stream: returns the last window's keyframe, if any.</summary>
    public Candidate? Flush()
    {
        var last = _best;
        _best = null;
        return last;
    }
}
