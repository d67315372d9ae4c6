namespace Concerto.Ingest.Media;

/// <summary>Options of the "Concerto:Media" section.</summary>
public sealed class MediaOptions
{
    public const string Section = "Concerto:Media";

    /// <summary>Folder with ffmpeg and ffprobe; empty = PATH.</summary>
    public string? FfmpegFolder { get; set; }

    /// <summary>What is wrong with these settings, each naming its setting; empty when they can work.</summary>
    public IEnumerable<string> Problems()
    {
        if (!string.IsNullOrWhiteSpace(FfmpegFolder) && !Directory.Exists(FfmpegFolder))
            yield return $"{Section}:FfmpegFolder is '{FfmpegFolder}', which is not a folder: name the folder holding ffmpeg and ffprobe, or leave it empty to use PATH.";
    }
}
