using System.Diagnostics;

namespace Concerto.Ingest.TestSupport;

/// <summary>A third-party program run to judge our output (colmap, Debian's python3), with a time limit.</summary>
public static class ExternalProgram
{
    /// <summary>Runs <paramref name="program"/> and returns its exit code, stdout and stderr; kills it past
    /// <paramref name="timeout"/> (default 5 minutes) and throws.</summary>
    public static async Task<(int ExitCode, string Output, string Error)> RunAsync(string program, IEnumerable<string> arguments, string workingDirectory,
        TimeSpan? timeout = null)
    {
        ArgumentNullException.ThrowIfNull(arguments);
        var info = new ProcessStartInfo(program) { WorkingDirectory = workingDirectory, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in arguments) info.ArgumentList.Add(a);
        using var process = Process.Start(info) ?? throw new InvalidOperationException($"{program} did not start");
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        var limit = timeout ?? TimeSpan.FromMinutes(5);
        using var cts = new CancellationTokenSource(limit);
        try
        {
            await process.WaitForExitAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"{program} {string.Join(' ', info.ArgumentList)} ran past {limit.TotalSeconds} s");
        }

        return (process.ExitCode, await stdout, await stderr);
    }
}

/// <summary>Debian's own Python 3 (/usr/bin/python3) with the third-party readers scripts/setup.sh installs from apt
/// (python3-numpy, python3-pil, python3-torch, python3-open3d): tests hand it our files and let the tools our users
/// run judge them. Another python3 earlier on PATH (pyenv, a virtualenv) lacks those packages, so the Debian one is
/// named.</summary>
public static class DebianPython
{
    public const string Path = "/usr/bin/python3";

    /// <summary>Runs <paramref name="script"/> (Python source, written to a temporary file) with
    /// <paramref name="arguments"/> in <paramref name="workingDirectory"/>; returns stdout, or throws with stderr's tail
    /// when it exits non-zero or runs past <paramref name="timeout"/> (default 5 minutes).</summary>
    public static async Task<string> RunAsync(string script, IEnumerable<string> arguments, string workingDirectory, TimeSpan? timeout = null)
    {
        ArgumentNullException.ThrowIfNull(script);
        ArgumentNullException.ThrowIfNull(arguments);
        if (!File.Exists(Path))
            throw new InvalidOperationException($"{Path} is missing: run scripts/setup.sh, which installs Debian's python3-numpy, python3-pil, python3-torch and python3-open3d");
        var file = System.IO.Path.Combine(System.IO.Path.GetTempPath(), $"concerto-test-{Guid.NewGuid():N}.py");
        await File.WriteAllTextAsync(file, script);
        try
        {
            var (exit, output, error) = await ExternalProgram.RunAsync(Path, arguments.Prepend(file), workingDirectory, timeout);
            if (exit != 0) throw new InvalidOperationException($"{Path} exited {exit}: {(error.Length > 4000 ? error[^4000..] : error)}");
            return output;
        }
        finally
        {
            File.Delete(file);
        }
    }
}
