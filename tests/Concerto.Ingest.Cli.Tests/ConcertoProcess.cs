using System.Diagnostics;
using System.Text;

namespace Concerto.Ingest.Cli.Tests;

/// <summary>Runs the built `concerto` program as a child process against a test database and artifact folder.</summary>
public sealed class ConcertoProcess : IDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _output = new();

    private ConcertoProcess(Process process)
    {
        _process = process;
        _process.OutputDataReceived += (_, e) => Append(e.Data);
        _process.ErrorDataReceived += (_, e) => Append(e.Data);
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
    }

    public string Output
    {
        get
        {
            lock (_output) return _output.ToString();
        }
    }

    /// <summary>The process id (for /proc and signals).</summary>
    public int Id => _process.Id;

    public bool HasExited => _process.HasExited;

    /// <summary>The exit code; only once <see cref="HasExited"/>.</summary>
    public int ExitCode => _process.ExitCode;

    public static ConcertoProcess Start(string connectionString, string artifactRoot, params string[] args)
    {
        var info = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        info.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "concerto.dll"));
        foreach (var a in args) info.ArgumentList.Add(a);
        info.Environment["ConnectionStrings__Concerto"] = connectionString;
        info.Environment["Concerto__ArtifactRoot"] = artifactRoot;
        info.Environment["NO_COLOR"] = "1";
        return new ConcertoProcess(Process.Start(info)!);
    }

    public static async Task<(int ExitCode, string Output)> RunAsync(string connectionString, string artifactRoot, params string[] args)
    {
        using var process = Start(connectionString, artifactRoot, args);
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(3));
        await process._process.WaitForExitAsync(timeout.Token);
        return (process._process.ExitCode, process.Output);
    }

    /// <summary>Asks the process to stop as a process manager would (SIGTERM) and waits for it.</summary>
    public async Task StopAsync()
    {
        if (_process.HasExited) return;
        using (var kill = Process.Start("kill", ["-TERM", _process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]))
            await kill.WaitForExitAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        await _process.WaitForExitAsync(timeout.Token);
    }

    private void Append(string? line)
    {
        if (line is null) return;
        lock (_output) _output.AppendLine(line);
    }

    public void Dispose()
    {
        if (!_process.HasExited) _process.Kill(entireProcessTree: true);
        _process.Dispose();
    }
}
