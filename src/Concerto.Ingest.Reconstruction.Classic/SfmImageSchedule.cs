using Concerto.Ingest.Reconstruction.Pipeline;

namespace Concerto.Ingest.Reconstruction.Classic;

/// <summary>Which video frames join structure from motion as images: every keyframe's own frame, and video frames wherever
/// keyframes are more than <c>imageStep</c> frames apart (so registration never has to bridge a long gap: a fast turn
/// between two keyframes). Only keyframes get depth. Feed it the video's frame indices in order.</summary>
internal sealed class SfmImageSchedule
{
    private readonly IReadOnlyList<KeyframeRef> _keyframes;
    private readonly Dictionary<long, int> _keyframeAt;
    private readonly int _imageStep;
    private long _lastImage;
    private int _nextKeyframe;

    /// <param name="keyframes">In frame order.</param>
    /// <param name="imageStep">Video frames between extra images, at least.</param>
    public SfmImageSchedule(IReadOnlyList<KeyframeRef> keyframes, int imageStep)
    {
        _keyframes = keyframes;
        _imageStep = imageStep;
        _keyframeAt = keyframes.Select((k, i) => (k.FrameIndex, i)).ToDictionary(x => (long)x.FrameIndex, x => x.i);
        _lastImage = keyframes[0].FrameIndex;
    }

    /// <summary>The keyframes' frame indices follow from their times at the decode stage's constant rate; null when they do
    /// not (no rate, or keyframes out of order), in which case only keyframes can be images.</summary>
    public static double? FrameRate(IReadOnlyList<KeyframeRef> keyframes)
    {
        var rate = keyframes.Where(k => k.Time > 0).Select(k => k.FrameIndex / k.Time).FirstOrDefault();
        var ordered = keyframes.Zip(keyframes.Skip(1)).All(p => p.First.FrameIndex < p.Second.FrameIndex);
        return rate > 0 && ordered ? rate : null;
    }

    public long Start => _keyframes[0].FrameIndex;

    public long End => _keyframes[^1].FrameIndex;

    /// <summary>Whether frame <paramref name="index"/> is an image, and its keyframe index (-1 for a video frame).</summary>
    public (bool IsImage, int Keyframe) Next(long index)
    {
        var keyframe = _keyframeAt.GetValueOrDefault(index, -1);
        if (keyframe >= 0) _nextKeyframe = keyframe + 1;
        // A video frame becomes an image when the last image is far behind and the next keyframe is not close.
        var between = keyframe < 0 && index > Start && index - _lastImage >= _imageStep && _nextKeyframe < _keyframes.Count
                      && _keyframes[_nextKeyframe].FrameIndex - index >= _imageStep / 2;
        var isImage = index >= Start && (keyframe >= 0 || between);
        if (isImage) _lastImage = index;
        return (isImage, keyframe);
    }
}
