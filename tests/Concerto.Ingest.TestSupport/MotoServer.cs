using System.Diagnostics;
using System.Text;
using System.Text.RegularExpressions;
using Amazon.Runtime;
using Amazon.S3;
using Concerto.Ingest.Storage.Artifacts;
using Xunit;

namespace Concerto.Ingest.TestSupport;

/// <summary>A real moto S3 server (moto_server, installed by scripts/setup.sh) on a port the system picks, for the
/// tests of the S3 artifact store; one per test collection, killed on dispose. Each test uses a bucket of its own.</summary>
public sealed partial class MotoServer : IAsyncLifetime
{
    public const string AccessKey = "concerto-test";
    public const string SecretKey = "concerto-test-secret";
    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(60);
    private readonly StringBuilder _output = new();
    private Process? _process;

    public Uri Url { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        var start = new ProcessStartInfo(Executable(), "-H 127.0.0.1 -p 0")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.Environment["PYTHONUNBUFFERED"] = "1";
        var address = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        _process = new Process { StartInfo = start };
        void OnLine(object sender, DataReceivedEventArgs e)
        {
            if (e.Data is null) return;
            lock (_output) _output.AppendLine(e.Data);
            if (RunningOn().Match(e.Data) is { Success: true } m) address.TrySetResult(m.Groups[1].Value);
        }

        _process.OutputDataReceived += OnLine;
        _process.ErrorDataReceived += OnLine;
        _process.Start();
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();

        using var timeout = new CancellationTokenSource(StartTimeout);
        var exited = _process.WaitForExitAsync(timeout.Token);
        var first = await Task.WhenAny(address.Task, exited);
        if (first != address.Task) throw new InvalidOperationException($"moto_server did not report its address within {StartTimeout.TotalSeconds} s " +
                                                                       $"(exited: {_process.HasExited}); its output:\n{Output}");
        Url = new Uri(address.Task.Result);

        // It prints the address once it listens; still, wait until it answers a request.
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(5) };
        while (true)
        {
            try
            {
                using var response = await http.GetAsync(new Uri(Url, "/moto-api/"), timeout.Token);
                return;
            }
            catch (HttpRequestException) when (!timeout.IsCancellationRequested)
            {
                await Task.Delay(100, timeout.Token);
            }
        }
    }

    public async Task DisposeAsync()
    {
        if (_process is null) return;
        try
        {
            if (!_process.HasExited) _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
        }
        finally
        {
            _process.Dispose();
        }
    }

    public string Output
    {
        get
        {
            lock (_output) return _output.ToString();
        }
    }

    /// <summary>A fresh bucket name, so tests do not see each other's objects.</summary>
    public static string NewBucketName() => "concerto-" + Guid.NewGuid().ToString("N")[..16];

    /// <summary>Options for a store on this server; CreateBucket is set.</summary>
    public S3ArtifactOptions Options(string bucket, string cacheDirectory, string? prefix = "concerto/test") => new()
    {
        ServiceUrl = Url.ToString(),
        Bucket = bucket,
        Prefix = prefix,
        Region = "us-east-1",
        AccessKey = AccessKey,
        SecretKey = SecretKey,
        CacheDirectory = cacheDirectory,
        CreateBucket = true,
    };

    /// <summary>A plain client for what the store must not be asked to do: uploads without a marker, tampering.</summary>
    public AmazonS3Client CreateClient() => new(new BasicAWSCredentials(AccessKey, SecretKey), new AmazonS3Config
    {
        ServiceURL = Url.ToString(),
        AuthenticationRegion = "us-east-1",
        ForcePathStyle = true,
        RequestChecksumCalculation = RequestChecksumCalculation.WHEN_REQUIRED,
        ResponseChecksumValidation = ResponseChecksumValidation.WHEN_REQUIRED,
    });

    /// <summary>moto_server on PATH, else where pip and pyenv put it (scripts/setup.sh checks the same places).</summary>
    private static string Executable()
    {
        var home = Environment.GetFolderPath(Environment.SpecialFolder.UserProfile);
        var pyenv = Environment.GetEnvironmentVariable("PYENV_ROOT") is { Length: > 0 } root ? root : Path.Combine(home, ".pyenv");
        var folders = (Environment.GetEnvironmentVariable("PATH") ?? "").Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries)
            .Append(Path.Combine(pyenv, "shims")).Append(Path.Combine(home, ".local", "bin"));
        foreach (var folder in folders)
        {
            var candidate = Path.Combine(folder, "moto_server");
            if (File.Exists(candidate)) return candidate;
        }

        throw new InvalidOperationException("moto_server (the Python package moto[server]) is not on PATH (nor in pyenv's shims or ~/.local/bin): run scripts/setup.sh, which installs it");
    }

    [GeneratedRegex(@"Running on (http://127\.0\.0\.1:[0-9]+)")]
    private static partial Regex RunningOn();
}
