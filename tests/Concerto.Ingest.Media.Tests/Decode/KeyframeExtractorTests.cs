using Concerto.Ingest.Core.Media;
using Concerto.Ingest.Core.Profiles;
using Concerto.Ingest.Media.Decode;
using Concerto.Ingest.Media.Ffmpeg;
using Concerto.Ingest.Media.Probe;
using Concerto.Ingest.TestSupport;
using OpenCvSharp;

namespace Concerto.Ingest.Media.Tests.Decode;

public sealed class KeyframeExtractorTests : IDisposable
{
    private readonly FfmpegTools _tools = FfmpegTools.Locate();
    private readonly string _output = Directory.CreateTempSubdirectory("concerto-kf-").FullName;

    public void Dispose() => Directory.Delete(_output, recursive: true);

    private async Task<(VideoInfo Info, DecodeResult Result)> ExtractAsync(string path, DecodeSettings settings)
    {
        var info = await new VideoProber(_tools).ProbeAsync(path, CancellationToken.None);
        var result = await new KeyframeExtractor(_tools).ExtractAsync(path, info, settings, _output, null, CancellationToken.None);
        return (info, result);
    }

    [Fact]
    public async Task ExtractAsync_WritesOneKeyframePerWindow_AtTheAskedSize()
    {
        var path = await TestVideos.PatternAsync(seconds: 4, width: 640, height: 360, fps: 30);
        var settings = DecodeSettings.Default with { Width = 320 };
        var (_, result) = await ExtractAsync(path, settings);

        Assert.Equal(new FrameSize(320, 180), result.Size);
        Assert.Equal(120, result.Frames.Count);                 // every frame scored
        Assert.Equal(8, result.Keyframes.Count);                 // 4 s at 2 keyframes/s
        Assert.Equal(Enumerable.Range(0, 8).ToArray(), result.Keyframes.Select(k => (int)Math.Floor(k.Time / 0.5)).ToArray());
        foreach (var k in result.Keyframes)
        {
            using var image = Cv2.ImRead(Path.Combine(_output, k.FileName));
            Assert.Equal((320, 180), (image.Width, image.Height));
            // the keyframe is the sharpest frame of its window
            var window = result.Frames.Where(f => Math.Floor(f.Time / 0.5) == Math.Floor(k.Time / 0.5));
            Assert.Equal(window.Max(f => f.Sharpness), k.Sharpness);
        }
    }

    [Fact]
    public async Task ExtractAsync_SpreadsCountKeyframes_WhenCountMode()
    {
        var path = await TestVideos.PatternAsync(seconds: 4);
        var settings = DecodeSettings.Default with { Sampling = new SamplingSettings(SamplingMode.Count, null, 5) };
        var (_, result) = await ExtractAsync(path, settings);
        Assert.Equal(5, result.Keyframes.Count);
    }

    [Fact]
    public async Task ExtractAsync_RejectsBlurredFrames()
    {
        var path = await TestVideos.PartlyBlurredAsync(seconds: 4, blurredSeconds: 2);
        var (_, result) = await ExtractAsync(path, DecodeSettings.Default with { MinSharpness = 0 });
        var blurred = result.Frames.Where(f => f.Time < 1.95).Average(f => f.Sharpness);
        var sharp = result.Frames.Where(f => f.Time > 2.05).Average(f => f.Sharpness);
        Assert.True(sharp > 5 * blurred, $"sharp {sharp:0.0} vs blurred {blurred:0.0}");

        // A threshold between the two keeps only keyframes from the sharp half.
        Directory.Delete(_output, true);
        var threshold = Math.Sqrt(sharp * blurred);
        var (_, filtered) = await ExtractAsync(path, DecodeSettings.Default with { MinSharpness = threshold });
        Assert.Equal(4, filtered.Keyframes.Count);
        Assert.All(filtered.Keyframes, k => Assert.True(k.Time >= 2.0));
        Assert.Equal(120, filtered.Frames.Count); // scores kept for every frame, kept or not
    }

    [Fact]
    public async Task ExtractAsync_ResamplesFrames_WhenAnalysisFpsSet()
    {
        var path = await TestVideos.PatternAsync(seconds: 4, fps: 30);
        var (_, result) = await ExtractAsync(path, DecodeSettings.Default with { AnalysisFps = 10 });
        Assert.Equal(40, result.Frames.Count);
        Assert.Equal(0.1, result.Frames[1].Time, 9);
    }

    [Fact]
    public async Task ExtractAsync_DecodesUpright_WhenRotated()
    {
        var (_, result) = await ExtractAsync(await TestVideos.RotatedAsync(), DecodeSettings.Default with { Width = 180 });
        Assert.Equal(new FrameSize(180, 320), result.Size);
        using var image = Cv2.ImRead(Path.Combine(_output, result.Keyframes[0].FileName));
        Assert.Equal((180, 320), (image.Width, image.Height));
    }

    [Fact]
    public async Task ExtractAsync_FailsWithReason_WhenMediaDataIsTruncated()
    {
        var path = await TestVideos.TruncatedAsync();
        var info = await new VideoProber(_tools).ProbeAsync(path, CancellationToken.None); // the header is intact
        var e = await Assert.ThrowsAsync<BadInputException>(() =>
            new KeyframeExtractor(_tools).ExtractAsync(path, info, DecodeSettings.Default, _output, null, CancellationToken.None));
        Assert.StartsWith($"{path}: truncated: decoded ", e.Message, StringComparison.Ordinal);
        Assert.Contains("partial file", e.Message, StringComparison.Ordinal);   // ffmpeg's own words, whole
        Assert.DoesNotContain("@ 0x", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ExtractAsync_DecodesTheWholeVideo_WhenMatroskaAudioOutlastsIt()
    {
        // The container says 10 s (the audio's); measured against that, 2 s of picture looked truncated.
        var (info, result) = await ExtractAsync(await TestVideos.AudioOutlastsVideoAsync(), DecodeSettings.Default);
        Assert.Equal(2.0, info.DurationSeconds, 1);
        Assert.Equal(60, result.Frames.Count);
        Assert.Equal(4, result.Keyframes.Count);
    }

    [Fact]
    public async Task ExtractAsync_StopsFfmpeg_WhenCancelled()
    {
        var path = await TestVideos.PatternAsync(seconds: 20, width: 1280, height: 720);
        var info = await new VideoProber(_tools).ProbeAsync(path, CancellationToken.None);
        using var cts = new CancellationTokenSource(TimeSpan.FromMilliseconds(300));
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() =>
            new KeyframeExtractor(_tools).ExtractAsync(path, info, DecodeSettings.Default, _output, null, cts.Token));
    }
}
