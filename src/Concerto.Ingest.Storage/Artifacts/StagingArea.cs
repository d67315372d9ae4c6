using System.Diagnostics;
using System.Globalization;

namespace Concerto.Ingest.Storage.Artifacts;

/// <summary>Local staging folders for stage outputs before they are published. Each is named after the machine and process
/// that made it, so a later process can tell which ones were abandoned by a process that died (kill -9, power loss) and
/// remove them: on this machine when that process is gone, on any machine once they are a week old.</summary>
public sealed class StagingArea
{
    private static readonly TimeSpan ForeignAge = TimeSpan.FromDays(7);
    private readonly string _owner = $"{Sanitize(Environment.MachineName)}~{Environment.ProcessId.ToString(CultureInfo.InvariantCulture)}~";

    public StagingArea(string root)
    {
        Root = Path.GetFullPath(root);
        Directory.CreateDirectory(Root);
    }

    public string Root { get; }

    public string Create()
    {
        var path = Path.Combine(Root, _owner + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(path);
        return path;
    }

    public static void Discard(string stagingPath)
    {
        if (Directory.Exists(stagingPath)) Directory.Delete(stagingPath, recursive: true);
    }

    public int Sweep()
    {
        var removed = 0;
        var machine = Sanitize(Environment.MachineName) + "~";
        foreach (var folder in Directory.EnumerateDirectories(Root))
        {
            var name = Path.GetFileName(folder);
            var parts = name.Split('~');
            var abandoned = parts.Length == 3 && name.StartsWith(machine, StringComparison.Ordinal)
                ? !IsAlive(parts[1])
                : DateTime.UtcNow - Directory.GetLastWriteTimeUtc(folder) > ForeignAge;
            if (!abandoned) continue;
            try
            {
                Directory.Delete(folder, recursive: true);
                removed++;
            }
            catch (IOException)
            {
                // gone already, or a file is still busy: the next sweep tries again
            }
            catch (UnauthorizedAccessException)
            {
            }
        }

        return removed;
    }

    private static bool IsAlive(string pid) =>
        int.TryParse(pid, NumberStyles.None, CultureInfo.InvariantCulture, out var id) && IsRunning(id);

    /// <summary>Whether a process of this machine runs (this one always does).</summary>
    public static bool IsRunning(int id)
    {
        if (id == Environment.ProcessId) return true;
        try
        {
            using var process = Process.GetProcessById(id);
            return !process.HasExited;
        }
        catch (ArgumentException)
        {
            return false;
        }
    }

    private static string Sanitize(string name) => string.Concat(name.Select(c => char.IsLetterOrDigit(c) || c is '-' or '.' ? c : '_'));
}
