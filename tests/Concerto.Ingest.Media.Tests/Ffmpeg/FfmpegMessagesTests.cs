using Concerto.Ingest.Media.Ffmpeg;

namespace Concerto.Ingest.Media.Tests.Ffmpeg;

public class FfmpegMessagesTests
{
    [Fact]
    public void Summarize_DropsContextAddressesAndThePath_KeepingEachMessageOnce()
    {
        const string tail = "[mov,mp4,m4a,3gp,3g2,mj2 @ 0x55c7525341c0] moov atom not found | /v/a b.mp4: Invalid data found when processing input";
        Assert.Equal("moov atom not found; Invalid data found when processing input", FfmpegMessages.Summarize(tail, "/v/a b.mp4"));
    }

    [Fact]
    public void Summarize_CountsMessagesThatDifferOnlyInOffsetsOnce()
    {
        const string tail = "[h264 @ 0x1] Invalid NAL unit size (3838 > 2977). | [mov @ 0x2] stream 0, offset 0xedbd: partial file | " +
                            "[mov @ 0x2] stream 0, offset 0xf933: partial file | Error while decoding stream #0:0: Invalid data found when processing input";
        Assert.Equal("Invalid NAL unit size (3838 > 2977).; stream 0, offset 0xedbd: partial file; Error while decoding stream #0:0: Invalid data found when processing input",
            FfmpegMessages.Summarize(tail, "/v/a.mp4"));
    }

    [Fact]
    public void Summarize_KeepsTheLastWholeMessagesThatFit_WhenTooLong()
    {
        var tail = string.Join(" | ", Enumerable.Range(1, 30).Select(i => $"message number {i}"));
        var text = FfmpegMessages.Summarize(tail, "/v/a.mp4", maxLength: 60);
        Assert.Equal("...; message number 28; message number 29; message number 30", text);
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData(" |  | ")]
    public void Summarize_SaysNoMessage_WhenTheToolSaidNothing(string? tail) =>
        Assert.Equal("no message", FfmpegMessages.Summarize(tail, "/v/a.mp4"));
}
