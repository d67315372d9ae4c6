namespace Concerto.Ingest.Jobs.Ingest;

/// <summary>Turns what the user named (files, folders, list files) into the list of paths to ingest. A folder
/// contributes its video files (by extension, recursively); a .txt or .list file contributes one path per line
/// (relative to the list's folder; '#' starts a comment). A named file that is missing or not a video is kept: its
/// run fails with the reason, like any other bad input.</summary>
public static class InputExpander
{
    public static readonly IReadOnlySet<string> VideoExtensions = new HashSet<string>(StringComparer.OrdinalIgnoreCase)
    {
        ".mp4", ".m4v", ".mov", ".mkv", ".webm", ".avi", ".mpg", ".mpeg", ".ts", ".mts", ".m2ts", ".wmv", ".flv", ".3gp", ".ogv",
    };

    private static readonly IReadOnlySet<string> ListExtensions = new HashSet<string>(StringComparer.OrdinalIgnoreCase) { ".txt", ".list", ".lst" };

    public static IReadOnlyList<string> Expand(IEnumerable<string> inputs)
    {
        ArgumentNullException.ThrowIfNull(inputs);
        var paths = new List<string>();
        foreach (var input in inputs) Add(input, paths, depth: 0);
        return paths.Distinct(StringComparer.Ordinal).ToList();
    }

    private static void Add(string input, List<string> paths, int depth)
    {
        var full = Path.GetFullPath(input);
        if (Directory.Exists(full))
        {
            paths.AddRange(Directory.EnumerateFiles(full, "*", new EnumerationOptions { RecurseSubdirectories = true, IgnoreInaccessible = true })
                .Where(f => VideoExtensions.Contains(Path.GetExtension(f)) && !Path.GetFileName(f).StartsWith('.'))
                .Order(StringComparer.Ordinal));
        }
        else if (File.Exists(full) && ListExtensions.Contains(Path.GetExtension(full)) && depth == 0)
        {
            var folder = Path.GetDirectoryName(full)!;
            foreach (var raw in File.ReadLines(full))
            {
                var line = raw.Trim();
                if (line.Length == 0 || line.StartsWith('#')) continue;
                Add(Path.IsPathRooted(line) ? line : Path.Combine(folder, line), paths, depth + 1);
            }
        }
        else
        {
            paths.Add(full);
        }
    }
}
