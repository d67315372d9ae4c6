using System.Diagnostics;

namespace Concerto.Ingest.TestSupport;

/// <summary>Debian's own Python 3 (/usr/bin/python3) with the third-party readers scripts/setup.sh installs from apt
/// (python3-numpy, python3-pil, python3-torch): tests hand it our files and let the tools our users run judge them.
/// Another python3 earlier on PATH (pyenv, a virtualenv) lacks those packages, so the Debian one is named.</summary>
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
            throw new InvalidOperationException($"{Path} is missing: run scripts/setup.sh, which installs Debian's python3-numpy, python3-pil and python3-torch");
        var file = System.IO.Path.Combine(System.IO.Path.GetTempPath(), $"concerto-test-{Guid.NewGuid():N}.py");
        await File.WriteAllTextAsync(file, script);
        try
        {
            var info = new ProcessStartInfo(Path) { WorkingDirectory = workingDirectory, RedirectStandardOutput = true, RedirectStandardError = true };
            info.ArgumentList.Add(file);
            foreach (var a in arguments) info.ArgumentList.Add(a);
            using var process = Process.Start(info)!;
            var stdout = process.StandardOutput.ReadToEndAsync();
            var stderr = process.StandardError.ReadToEndAsync();
            using var cts = new CancellationTokenSource(timeout ?? TimeSpan.FromMinutes(5));
            try
            {
                await process.WaitForExitAsync(cts.Token);
            }
            catch (OperationCanceledException)
            {
                process.Kill(entireProcessTree: true);
                throw new TimeoutException($"{Path} {file} ran past {(timeout ?? TimeSpan.FromMinutes(5)).TotalSeconds} s");
            }

            var error = await stderr;
            if (process.ExitCode != 0)
                throw new InvalidOperationException($"{Path} exited {process.ExitCode}: {(error.Length > 4000 ? error[^4000..] : error)}");
            return await stdout;
        }
        finally
        {
            File.Delete(file);
        }
    }
}
