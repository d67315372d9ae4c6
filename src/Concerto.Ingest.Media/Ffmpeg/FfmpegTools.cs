namespace Concerto.Ingest.Media.Ffmpeg;

/// <summary>Where the ffmpeg and ffprobe executables are: an explicit folder, else the PATH.</summary>
public sealed record FfmpegTools(string Ffmpeg, string Ffprobe)
{
    public static FfmpegTools Locate(string? binaryFolder = null)
    {
        if (!string.IsNullOrEmpty(binaryFolder))
            return new FfmpegTools(Path.Combine(binaryFolder, "ffmpeg"), Path.Combine(binaryFolder, "ffprobe"));

        return new FfmpegTools(FindOnPath("ffmpeg"), FindOnPath("ffprobe"));
    }

    private static string FindOnPath(string name) =>
        ToolProcess.FindOnPath(name) ?? throw new FileNotFoundException(
            $"'{name}' was not found on PATH. Install it (Debian: apt-get install ffmpeg, or run scripts/setup.sh) " +
            "or set Concerto:Media:FfmpegFolder.");
}
