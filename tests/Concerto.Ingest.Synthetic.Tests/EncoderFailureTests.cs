using Concerto.Ingest.Media.Ffmpeg;
using Concerto.Ingest.Synthetic.Capture;

namespace Concerto.Ingest.Synthetic.Tests;

/// <summary>An encoder that fails (here an `ffmpeg` that exits at once, as a broken or wrong build would) ends the
/// capture with an error naming the video, and the real ffmpeg still encodes every frame.</summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class EncoderFailureTests : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("concerto-synth-encoder-").FullName;

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    [Fact]
    public async Task WriteAsync_NamesTheVideo_WhenFfmpegFails()
    {
        var bin = Directory.CreateDirectory(Path.Combine(_folder, "bin")).FullName;
        var fake = Path.Combine(bin, "ffmpeg");
        await File.WriteAllTextAsync(fake, "#!/bin/sh\necho 'Unknown encoder libx264' >&2\nexit 1\n");
        File.SetUnixFileMode(fake, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        var writer = new SyntheticCaptureWriter(new FfmpegTools(fake, FfmpegTools.Locate().Ffprobe));

        var capture = Path.Combine(_folder, "capture");
        var error = await Assert.ThrowsAsync<IOException>(() =>
            writer.WriteAsync(new SynthSettings(Seed: 1, Frames: 20, Width: 64, Height: 48, Fps: 10, Points: 10), capture, null, CancellationToken.None));
        Assert.Contains(Path.Combine(capture, SyntheticCaptureWriter.VideoFile), error.Message, StringComparison.Ordinal);
        Assert.False(File.Exists(Path.Combine(capture, "capture.json")));
    }

    [Fact]
    public async Task WriteAsync_EncodesEveryFrame_WithTheRealFfmpeg()
    {
        var capture = Path.Combine(_folder, "capture");
        var result = await new SyntheticCaptureWriter(FfmpegTools.Locate()).WriteAsync(
            new SynthSettings(Seed: 2, Frames: 17, Width: 64, Height: 48, Fps: 10, Points: 10), capture, null, CancellationToken.None);
        var info = await new Media.Probe.VideoProber(FfmpegTools.Locate()).ProbeAsync(Path.Combine(capture, SyntheticCaptureWriter.VideoFile), CancellationToken.None);
        Assert.Equal((17, 17L), (result.Frames, info.FrameCount ?? 0));
        Assert.Equal((64, 48), (info.Width, info.Height));
    }
}
