using Concerto.Ingest.Core.Media;
using Concerto.Ingest.Media.Ffmpeg;
using Concerto.Ingest.Media.Probe;
using Concerto.Ingest.TestSupport;

namespace Concerto.Ingest.Media.Tests.Probe;

public class VideoProberTests
{
    private readonly VideoProber _prober = new(FfmpegTools.Locate());

    [Fact]
    public async Task ProbeAsync_ReadsMetadata_WhenVideoIsValid()
    {
        var path = await TestVideos.PatternAsync(seconds: 3, width: 640, height: 360, fps: 25);
        var info = await _prober.ProbeAsync(path, CancellationToken.None);
        Assert.Equal((640, 360), (info.Width, info.Height));
        Assert.Equal("h264", info.Codec);
        Assert.Equal(25.0, info.FrameRate, 3);
        Assert.Equal(3.0, info.DurationSeconds, 1);
        Assert.Equal(75, info.FrameCount);
        Assert.False(info.HasAudio);
    }

    [Fact]
    public async Task ProbeAsync_SwapsDisplaySize_WhenRotated()
    {
        var info = await _prober.ProbeAsync(await TestVideos.RotatedAsync(), CancellationToken.None);
        Assert.Equal(90, Math.Abs(info.Rotation));
        Assert.Equal((360, 640), (info.Width, info.Height));
    }

    [Fact]
    public async Task ProbeAsync_ReportsDisplayWidth_WhenPixelsAreNotSquare()
    {
        var info = await _prober.ProbeAsync(await TestVideos.AnamorphicAsync(), CancellationToken.None);
        Assert.Equal((640, 240), (info.Width, info.Height));
    }

    public static TheoryData<string, string> BadInputs => new()
    {
        { "empty", "empty (0 bytes)" },
        { "text", "not a readable video" },
        { "missing", "does not exist" },
        { "audio", "no video stream (audio only)" },
        { "folder", "is a folder" },
    };

    [Theory]
    [MemberData(nameof(BadInputs))]
    public async Task ProbeAsync_GivesOneLineReasonNamingTheFile_WhenInputIsBad(string kind, string reason)
    {
        var path = kind switch
        {
            "empty" => TestVideos.EmptyFile(),
            "text" => TestVideos.TextFile(),
            "missing" => Path.Combine(TestVideos.Folder, "no such file.mp4"),
            "audio" => await TestVideos.AudioOnlyAsync(),
            _ => TestVideos.Folder,
        };
        var e = await Assert.ThrowsAsync<BadInputException>(() => _prober.ProbeAsync(path, CancellationToken.None));
        Assert.StartsWith(path, e.Message, StringComparison.Ordinal);
        Assert.Contains(reason, e.Message, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', e.Message);
    }

    [Fact]
    public async Task ProbeAsync_SaysTheIndexIsMissing_WhenAnMp4WasCutBeforeIt()
    {
        var path = await TestVideos.CutBeforeIndexAsync();
        var e = await Assert.ThrowsAsync<BadInputException>(() => _prober.ProbeAsync(path, CancellationToken.None));
        Assert.StartsWith($"{path}: not a readable video: an MP4/MOV file without its index (moov atom), so it is incomplete", e.Message, StringComparison.Ordinal);
        Assert.Contains("(ffprobe: moov atom not found; Invalid data found when processing input)", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ProbeAsync_SaysTheFileHoldsText_WhenATextFileIsNamedMp4()
    {
        var path = TestVideos.TextFile("text with a video name.mp4");
        var e = await Assert.ThrowsAsync<BadInputException>(() => _prober.ProbeAsync(path, CancellationToken.None));
        Assert.StartsWith($"{path}: not a readable video: it holds text, not video data (ffprobe: ", e.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("@ 0x", e.Message, StringComparison.Ordinal);   // no decoder context addresses
        Assert.DoesNotContain("index", e.Message, StringComparison.Ordinal);  // ffprobe's "moov atom not found" does not make it an MP4
    }

    [Fact]
    public async Task ProbeAsync_TakesTheVideoStreamsOwnDuration_WhenMatroskaAudioOutlastsIt()
    {
        var info = await _prober.ProbeAsync(await TestVideos.AudioOutlastsVideoAsync(), CancellationToken.None);
        Assert.Equal(2.0, info.DurationSeconds, 1);   // not the container's 10 s
        Assert.True(info.HasAudio);
        Assert.Null(info.FrameCount);                 // Matroska does not count frames
    }

    [Fact]
    public async Task Sha256Async_IsEqual_ForCopiesAndDiffers_ForOtherContent()
    {
        var a = await TestVideos.PatternAsync(seconds: 2);
        var copy = Path.Combine(TestVideos.Folder, "copy with spaces é.mp4");
        File.Copy(a, copy, overwrite: true);
        var other = await TestVideos.PatternAsync(seconds: 3);
        Assert.Equal(await ContentHasher.Sha256Async(a, CancellationToken.None), await ContentHasher.Sha256Async(copy, CancellationToken.None));
        Assert.NotEqual(await ContentHasher.Sha256Async(a, CancellationToken.None), await ContentHasher.Sha256Async(other, CancellationToken.None));
    }
}
