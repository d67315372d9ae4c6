using System.Diagnostics;
using System.Text;

namespace Concerto.Ingest.Media.Ffmpeg;

/// <summary>A running ffmpeg/ffprobe process with stdout available as a stream and the tail of stderr kept for error
/// messages. Cancellation and disposal kill the process, so no orphan decoder outlives its stage.</summary>
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
    /// frames for an encoder).</summary>
    public static ToolProcess Start(string executable, IEnumerable<string> arguments, CancellationToken cancellationToken,
        bool redirectInput = false)
    {
        var info = new ProcessStartInfo(executable)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = redirectInput,
            UseShellExecute = false,
        };
        foreach (var a in arguments) info.ArgumentList.Add(a);
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

    /// <summary>Runs a short tool invocation to completion and returns (exit code, stdout, stderr tail).</summary>
    public static async Task<(int ExitCode, string Stdout, string Stderr)> RunAsync(
        string executable, IEnumerable<string> arguments, CancellationToken cancellationToken)
    {
        using var tool = Start(executable, arguments, cancellationToken);
        using var reader = new StreamReader(tool.Output, Encoding.UTF8);
        var stdout = await reader.ReadToEndAsync(cancellationToken).ConfigureAwait(false);
        var exit = await tool.WaitForExitAsync(cancellationToken).ConfigureAwait(false);
        return (exit, stdout, tool.ErrorTail);
    }
}
