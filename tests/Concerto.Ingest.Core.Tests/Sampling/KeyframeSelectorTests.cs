using Concerto.Ingest.Core.Profiles;
using Concerto.Ingest.Core.Sampling;

namespace Concerto.Ingest.Core.Tests.Sampling;

public class KeyframeSelectorTests
{
    /// <summary>Feeds frames at 10 fps with the given sharpness per frame; returns the keyframes' frame indices.</summary>
    private static List<long> Run(KeyframeSelector selector, double[] sharpness)
    {
        var chosen = new List<long>();
        for (var i = 0; i < sharpness.Length; i++)
        {
            var verdict = selector.Offer(i, i / 10.0, sharpness[i]);
            if (verdict.Closed is { } c) chosen.Add(c.FrameIndex);
        }

        if (selector.Flush() is { } last) chosen.Add(last.FrameIndex);
        return chosen;
    }

    [Fact]
    public void Offer_KeepsSharpestFramePerWindow()
    {
        // windows of 0.5 s = 5 frames at 10 fps
        double[] s = [1, 9, 3, 2, 2, /**/ 5, 5, 8, 1, 1, /**/ 4, 3];
        Assert.Equal([1L, 7L, 10L], Run(new KeyframeSelector(0.5, 0), s));
    }

    [Fact]
    public void Offer_SkipsWindow_WhenNoFrameIsSharpEnough()
    {
        double[] s = [1, 2, 3, 2, 2, /**/ 50, 60, 8, 1, 1];
        Assert.Equal([6L], Run(new KeyframeSelector(0.5, 10), s));
    }

    [Fact]
    public void Offer_AsksToKeepPixels_OnlyForNewBest()
    {
        var selector = new KeyframeSelector(1.0, 0);
        Assert.True(selector.Offer(0, 0.0, 5).KeepPixels);
        Assert.False(selector.Offer(1, 0.1, 4).KeepPixels);
        Assert.True(selector.Offer(2, 0.2, 6).KeepPixels);
    }

    [Theory]
    [InlineData(SamplingMode.Fps, 2.0, null, 10.0, 0.5)]
    [InlineData(SamplingMode.Count, null, 8, 10.0, 1.25)]
    [InlineData(SamplingMode.Count, null, 8, 0.0, 1.0)]
    public void WindowFor_MatchesSampling(SamplingMode mode, double? fps, int? count, double duration, double expected) =>
        Assert.Equal(expected, KeyframeSelector.WindowFor(new SamplingSettings(mode, fps, count), duration), 9);
}
