using System.Diagnostics;
using System.Text;

namespace Concerto.Ingest.Media.Ffmpeg;

/// <summary>A running external tool (ffmpeg, ffprobe, colmap) with stdout available as a stream and the tail of stderr
/// kept for error messages. Cancellation and disposal kill the process, so no orphan outlives its stage.</summary>
public sealed class ToolProcess : IDisposable
{
    private const int StderrLinesKept = 12;
    private readonly Process _process;
    private readonly Queue<string> _stderrTail = new();
    private readonly CancellationTokenRegistration _cancellation;

    private ToolProcess(Process process, CancellationToken cancellationToken)
    {
        _process = process;
        _process.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is null) return;
            lock (_stderrTail)
            {
                _stderrTail.Enqueue(e.Data);
                if (_stderrTail.Count > StderrLinesKept) _stderrTail.Dequeue();
            }
        };
        _process.BeginErrorReadLine();
        _cancellation = cancellationToken.Register(Kill);
    }

    /// <summary>Starts the tool; with <paramref name="redirectInput"/> its stdin is <see cref="Input"/> (e.g. raw
    /// frames for an encoder); <paramref name="environment"/> adds variables to its environment.</summary>
    public static ToolProcess Start(string executable, IEnumerable<string> arguments, CancellationToken cancellationToken,
        bool redirectInput = false, IReadOnlyDictionary<string, string>? environment = null)
    {
        var info = new ProcessStartInfo(executable)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = redirectInput,
            UseShellExecute = false,
        };
        foreach (var a in arguments) info.ArgumentList.Add(a);
        foreach (var (name, value) in environment ?? new Dictionary<string, string>()) info.Environment[name] = value;
        var process = Process.Start(info) ?? throw new InvalidOperationException($"could not start {executable}");
        return new ToolProcess(process, cancellationToken);
    }

    public Stream Output => _process.StandardOutput.BaseStream;

    public Stream Input => _process.StandardInput.BaseStream;

    /// <summary>The last lines ffmpeg wrote to stderr, joined; empty when it said nothing.</summary>
    public string ErrorTail
    {
        get
        {
            lock (_stderrTail) return string.Join(" | ", _stderrTail);
        }
    }

    public async Task<int> WaitForExitAsync(CancellationToken cancellationToken)
    {
        await _process.WaitForExitAsync(cancellationToken).ConfigureAwait(false);
        return _process.ExitCode;
    }

    /// <summary>Ends the process (and its children) now; the object stays usable for exit code and stderr.</summary>
    public void Kill()
    {
        try
        {
            if (!_process.HasExited) _process.Kill(entireProcessTree: true);
        }
        catch (InvalidOperationException)
        {
            // already gone
        }
    }

    public void Dispose()
    {
        Kill();
        _cancellation.Dispose();
        _process.Dispose();
    }

    /// <summary>The full path of <paramref name="name"/> in a folder of PATH, or null when none holds it.</summary>
    public static string? FindOnPath(string name)
    {
        foreach (var dir in (Environment.GetEnvironmentVariable("PATH") ?? "").Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries))
        {
            var candidate = Path.Combine(dir, name);
            if (File.Exists(candidate)) return candidate;
        }

        return null;
    }

    /// <summary>Runs a tool invocation to completion and returns (exit code, stdout, stderr tail).</summary>
    public static async Task<(int ExitCode, string Stdout, string Stderr)> RunAsync(
        string executable, IEnumerable<string> arguments, CancellationToken cancellationToken, IReadOnlyDictionary<string, string>? environment = null)
    {
        using var tool = Start(executable, arguments, cancellationToken, environment: environment);
        using var reader = new StreamReader(tool.Output, Encoding.UTF8);
        var stdout = await reader.ReadToEndAsync(cancellationToken).ConfigureAwait(false);
        var exit = await tool.WaitForExitAsync(cancellationToken).ConfigureAwait(false);
        return (exit, stdout, tool.ErrorTail);
    }
}
