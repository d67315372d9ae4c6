using System.Diagnostics;
using System.Text;

namespace Concerto.Ingest.Cli.Tests;

/// <summary>Runs the built `concerto` program (or `concerto-worker`) as a child process against a test database and artifact folder.</summary>
public sealed class ConcertoProcess : IDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _output = new();
    private readonly StringBuilder _stdout = new();
    private readonly StringBuilder _stderr = new();

    private ConcertoProcess(Process process)
    {
        _process = process;
        _process.OutputDataReceived += (_, e) =>
        {
            Append(e.Data);
            if (e.Data is not null) lock (_output) _stdout.Append(e.Data).Append('\n');
        };
        _process.ErrorDataReceived += (_, e) =>
        {
            Append(e.Data);
            if (e.Data is not null) lock (_output) _stderr.Append(e.Data).Append('\n');
        };
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

    /// <summary>The exit code; only once <see cref="HasExited"/>.</summary>
    public int ExitCode => _process.ExitCode;

    public static ConcertoProcess Start(string connectionString, string artifactRoot, params string[] args) =>
        Start(connectionString, artifactRoot, new Dictionary<string, string>(), args);

    /// <summary>Starts the program with extra environment variables (configuration such as Concerto__Workers__LeaseSeconds,
    /// or CONCERTO_PAUSE_AT fault points).</summary>
    public static ConcertoProcess Start(string connectionString, string artifactRoot, IReadOnlyDictionary<string, string> environment, params string[] args) =>
        StartProgram("concerto.dll", connectionString, artifactRoot, environment, args);

    /// <summary>The ingest worker `concerto-worker` (src/Concerto.Ingest.Worker) instead of `concerto`.</summary>
    public static ConcertoProcess StartWorker(string connectionString, string artifactRoot, params string[] args) =>
        StartProgram("concerto-worker.dll", connectionString, artifactRoot, new Dictionary<string, string>(), args);

    private static ConcertoProcess StartProgram(string program, string connectionString, string artifactRoot, IReadOnlyDictionary<string, string> environment,
        string[] args)
    {
        var info = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        info.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, program));
        foreach (var a in args) info.ArgumentList.Add(a);
        info.Environment["ConnectionStrings__Concerto"] = connectionString;
        info.Environment["Concerto__ArtifactRoot"] = artifactRoot;
        info.Environment["NO_COLOR"] = "1";
        foreach (var (name, value) in environment) info.Environment[name] = value;
        return new ConcertoProcess(Process.Start(info)!);
    }

    public static async Task<(int ExitCode, string Output)> RunAsync(string connectionString, string artifactRoot, params string[] args)
    {
        using var process = Start(connectionString, artifactRoot, args);
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(3));
        await process._process.WaitForExitAsync(timeout.Token);
        return (process._process.ExitCode, process.Output);
    }

    /// <summary>Runs the program and returns stdout and stderr apart (stdout carries only data with --json).</summary>
    public static async Task<(int ExitCode, string Stdout, string Stderr)> RunSplitAsync(string connectionString, string artifactRoot, params string[] args)
    {
        using var process = Start(connectionString, artifactRoot, args);
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(3));
        await process._process.WaitForExitAsync(timeout.Token);
        lock (process._output) return (process._process.ExitCode, process._stdout.ToString(), process._stderr.ToString());
    }

    /// <summary>Waits (a minute at most) until <paramref name="count"/> Hangfire servers have registered in the database.</summary>
    public static async Task WaitForServersAsync(Concerto.Ingest.TestSupport.TestDatabase db, int count)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        while (true)
        {
            try
            {
                if (await db.CountAsync("SELECT count(*) FROM hangfire.server") >= count) return;
            }
            catch (Npgsql.PostgresException)
            {
                // hangfire schema not created yet
            }

            await Task.Delay(200, timeout.Token);
        }
    }

    /// <summary>Waits for the process to end by itself.</summary>
    public async Task WaitForExitAsync(TimeSpan timeout)
    {
        using var cancel = new CancellationTokenSource(timeout);
        await _process.WaitForExitAsync(cancel.Token);
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

    public int Id => _process.Id;

    /// <summary>"host:pid", the name the pipeline records for work this process did.</summary>
    public string WorkerName => $"{Environment.MachineName}:{Id}";

    public bool HasExited => _process.HasExited;

    /// <summary>Each output line with the time it arrived.</summary>
    public IReadOnlyList<(DateTime At, string Line)> Lines
    {
        get
        {
            lock (_output) return [.. _lines];
        }
    }

    /// <summary>Waits until a line containing <paramref name="text"/> appears; fails with the output so far if it does not.</summary>
    public async Task WaitForOutputAsync(string text, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (!Output.Contains(text, StringComparison.Ordinal))
        {
            if (_process.HasExited || DateTime.UtcNow > deadline)
                throw new TimeoutException($"'{text}' did not appear (exited: {_process.HasExited}); output:\n{Output}");
            await Task.Delay(100);
        }
    }

    /// <summary>kill -9: the process gets no chance to clean up.</summary>
    public async Task KillAsync()
    {
        using (var kill = Process.Start("kill", ["-KILL", _process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]))
            await kill.WaitForExitAsync();
        await _process.WaitForExitAsync();
    }

    private readonly List<(DateTime, string)> _lines = [];

    private void Append(string? line)
    {
        if (line is null) return;
        lock (_output)
        {
            _output.AppendLine(line);
            _lines.Add((DateTime.UtcNow, line));
        }
    }

    public void Dispose()
    {
        if (!_process.HasExited) _process.Kill(entireProcessTree: true);
        _process.Dispose();
    }
}
