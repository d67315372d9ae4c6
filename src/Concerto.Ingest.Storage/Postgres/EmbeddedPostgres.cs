using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using Npgsql;

namespace Concerto.Ingest.Storage.Postgres;

public sealed record EmbeddedPostgresStatus(bool Initialised, bool Running, int? Port, string DataDirectory, string? ConnectionString);

/// <summary>A private PostgreSQL cluster in the state folder, made with the machine's own PostgreSQL binaries and
/// reused across runs. Listens on 127.0.0.1 on a free port chosen at first start, with a generated password.
/// PostgreSQL refuses to run as root, so under root the cluster belongs to the "postgres" user and commands run
/// through runuser; the state folder must then be somewhere that user can reach (not under /root).</summary>
public sealed class EmbeddedPostgres
{
    private const string SuperUser = "concerto";
    public const string DatabaseName = "concerto";
    private static readonly TimeSpan LockWait = TimeSpan.FromSeconds(120);

    private readonly string _root;
    private readonly string _binDirectory;
    private readonly bool _asPostgresUser = Environment.IsPrivilegedProcess;

    public EmbeddedPostgres(string stateDirectory, string? binDirectory = null)
    {
        _root = Path.Combine(Path.GetFullPath(stateDirectory), "pg");
        _binDirectory = binDirectory is { Length: > 0 } ? binDirectory : FindBinDirectory();
    }

    private string DataDirectory => Path.Combine(_root, "data");
    private string SocketDirectory => Path.Combine(_root, "run");
    private string LogDirectory => Path.Combine(_root, "log");
    private string LogFile => Path.Combine(LogDirectory, "postgres.log");
    private string PortFile => Path.Combine(_root, "port");
    private string PasswordFile => Path.Combine(_root, "password");

    /// <summary>Starts the cluster (creating it the first time) and returns a connection string to its database.
    /// Safe to call from several processes at once: a lock file serialises them.</summary>
    public async Task<string> EnsureStartedAsync(CancellationToken cancellationToken)
    {
        Directory.CreateDirectory(_root);
        using var fileLock = await AcquireLockAsync(cancellationToken).ConfigureAwait(false);

        if (!File.Exists(Path.Combine(DataDirectory, "PG_VERSION")))
            await InitialiseAsync(cancellationToken).ConfigureAwait(false);

        if (!await IsRunningAsync(cancellationToken).ConfigureAwait(false))
            await StartAsync(cancellationToken).ConfigureAwait(false);

        var connectionString = ConnectionString(ReadPort(), DatabaseName);
        await EnsureDatabaseAsync(connectionString, cancellationToken).ConfigureAwait(false);
        return connectionString;
    }

    public async Task<EmbeddedPostgresStatus> StatusAsync(CancellationToken cancellationToken)
    {
        var initialised = File.Exists(Path.Combine(DataDirectory, "PG_VERSION"));
        var running = initialised && await IsRunningAsync(cancellationToken).ConfigureAwait(false);
        int? port = File.Exists(PortFile) ? ReadPort() : null;
        return new EmbeddedPostgresStatus(initialised, running, port, DataDirectory,
            running && port is { } p ? ConnectionString(p, DatabaseName) : null);
    }

    /// <summary>Stops the cluster if it runs; returns whether it was running.</summary>
    public async Task<bool> StopAsync(CancellationToken cancellationToken)
    {
        if (!File.Exists(Path.Combine(DataDirectory, "PG_VERSION")) || !await IsRunningAsync(cancellationToken).ConfigureAwait(false))
            return false;
        var (exit, output) = await RunAsync("pg_ctl", ["stop", "-D", DataDirectory, "-m", "fast", "-w", "-t", "60"], cancellationToken)
            .ConfigureAwait(false);
        if (exit != 0) throw new InvalidOperationException($"pg_ctl stop failed for {DataDirectory}: {output}");
        return true;
    }

    /// <summary>Connection string for another database on this cluster (tests make one per test class).</summary>
    public string ConnectionString(int port, string database) => new NpgsqlConnectionStringBuilder
    {
        Host = "127.0.0.1",
        Port = port,
        Username = SuperUser,
        Password = File.ReadAllText(PasswordFile).Trim(),
        Database = database,
    }.ConnectionString;

    public int ReadPort() => int.Parse(File.ReadAllText(PortFile).Trim(), CultureInfo.InvariantCulture);

    private async Task InitialiseAsync(CancellationToken cancellationToken)
    {
        if (_asPostgresUser && (_root.StartsWith("/root/", StringComparison.Ordinal) || _root == "/root"))
            throw new InvalidOperationException(
                $"Cannot create the embedded PostgreSQL cluster under {_root}: as root the cluster runs as the 'postgres' user, " +
                "which cannot enter /root. Set Concerto:StateDirectory elsewhere (default /var/lib/concerto) or configure ConnectionStrings:Concerto.");

        if (Directory.Exists(DataDirectory)) Directory.Delete(DataDirectory, recursive: true); // a half-made cluster from a crash
        Directory.CreateDirectory(DataDirectory);
        Directory.CreateDirectory(SocketDirectory);
        Directory.CreateDirectory(LogDirectory);

        var password = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(24));
        await WritePrivateAsync(PasswordFile, password, cancellationToken).ConfigureAwait(false);

        // initdb reads the superuser password from a file the cluster's owner can read; removed right after.
        var initPasswordFile = Path.Combine(_root, ".initdb-password");
        await WritePrivateAsync(initPasswordFile, password, cancellationToken).ConfigureAwait(false);
        try
        {
            if (_asPostgresUser)
            {
                await ChownToPostgresAsync(cancellationToken).ConfigureAwait(false);
                await RunRawAsync("chown", ["postgres:postgres", initPasswordFile], cancellationToken).ConfigureAwait(false);
            }

            var (exit, output) = await RunAsync("initdb",
                ["-D", DataDirectory, "-U", SuperUser, "--pwfile", initPasswordFile, "-E", "UTF8", "--locale", "C",
                 "--auth-local", "peer", "--auth-host", "scram-sha-256", "--no-instructions"],
                cancellationToken).ConfigureAwait(false);
            if (exit != 0) throw new InvalidOperationException($"initdb failed in {DataDirectory}: {output}");
        }
        finally
        {
            File.Delete(initPasswordFile);
        }

        await File.WriteAllTextAsync(PortFile, FreePort().ToString(CultureInfo.InvariantCulture), cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Writes a secret to a file created with mode 600, so it is never readable by others, even briefly.</summary>
    private static async Task WritePrivateAsync(string path, string text, CancellationToken cancellationToken)
    {
        File.Delete(path);
        var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write };
        if (!OperatingSystem.IsWindows()) options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        await using var stream = new FileStream(path, options);
        await using var writer = new StreamWriter(stream);
        await writer.WriteAsync(text.AsMemory(), cancellationToken).ConfigureAwait(false);
    }

    private async Task StartAsync(CancellationToken cancellationToken)
    {
        Directory.CreateDirectory(SocketDirectory);
        Directory.CreateDirectory(LogDirectory);
        if (_asPostgresUser) await ChownToPostgresAsync(cancellationToken).ConfigureAwait(false);
        for (var attempt = 0; ; attempt++)
        {
            var port = ReadPort();
            var (exit, output) = await RunAsync("pg_ctl",
                ["start", "-D", DataDirectory, "-l", LogFile, "-w", "-t", "60",
                 "-o", $"-p {port} -k {SocketDirectory} -c listen_addresses=127.0.0.1"],
                cancellationToken).ConfigureAwait(false);
            if (exit == 0) return;

            var log = File.Exists(LogFile) ? string.Join('\n', File.ReadLines(LogFile).TakeLast(5)) : "";
            if (attempt == 0 && log.Contains("could not bind", StringComparison.OrdinalIgnoreCase))
            {
                // Someone took our port while the cluster was down: move to a new one.
                await File.WriteAllTextAsync(PortFile, FreePort().ToString(CultureInfo.InvariantCulture), cancellationToken).ConfigureAwait(false);
                continue;
            }

            throw new InvalidOperationException($"Could not start the embedded PostgreSQL in {DataDirectory}: {output} {log}".Trim());
        }
    }

    private async Task<bool> IsRunningAsync(CancellationToken cancellationToken)
    {
        var (exit, _) = await RunAsync("pg_ctl", ["status", "-D", DataDirectory], cancellationToken).ConfigureAwait(false);
        return exit == 0;
    }

    private static async Task EnsureDatabaseAsync(string connectionString, CancellationToken cancellationToken)
    {
        var admin = new NpgsqlConnectionStringBuilder(connectionString) { Database = "postgres", Pooling = false };
        await using var connection = new NpgsqlConnection(admin.ConnectionString);
        await connection.OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var exists = new NpgsqlCommand("SELECT 1 FROM pg_database WHERE datname = $1", connection);
        exists.Parameters.Add(new NpgsqlParameter { Value = DatabaseName });
        if (await exists.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false) is not null) return;
        await using var create = new NpgsqlCommand($"CREATE DATABASE {DatabaseName}", connection);
        await create.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }

    private async Task ChownToPostgresAsync(CancellationToken cancellationToken)
    {
        var (exit, output) = await RunRawAsync("chown", ["-R", "postgres:postgres", DataDirectory, SocketDirectory, LogDirectory], cancellationToken)
            .ConfigureAwait(false);
        if (exit != 0) throw new InvalidOperationException($"chown of {_root} to the postgres user failed: {output}");
        if (OperatingSystem.IsWindows()) return;
        foreach (var path in AncestorsOf(_root))
        {
            // The postgres user must be able to traverse every parent folder.
            var mode = File.GetUnixFileMode(path);
            if ((mode & UnixFileMode.OtherExecute) == 0) File.SetUnixFileMode(path, mode | UnixFileMode.OtherExecute);
        }
    }

    private static IEnumerable<string> AncestorsOf(string path)
    {
        for (var dir = new DirectoryInfo(path); dir is not null && dir.FullName != "/"; dir = dir.Parent)
            yield return dir.FullName;
    }

    private async Task<FileStream> AcquireLockAsync(CancellationToken cancellationToken)
    {
        var path = Path.Combine(_root, ".lock");
        var deadline = Stopwatch.StartNew();
        while (true)
        {
            try
            {
                return new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
            }
            catch (IOException) when (deadline.Elapsed < LockWait)
            {
                await Task.Delay(100, cancellationToken).ConfigureAwait(false);
            }
        }
    }

    private Task<(int ExitCode, string Output)> RunAsync(string tool, IReadOnlyList<string> args, CancellationToken cancellationToken)
    {
        var exe = Path.Combine(_binDirectory, tool);
        return _asPostgresUser
            ? RunRawAsync("runuser", ["-u", "postgres", "--", exe, .. args], cancellationToken)
            : RunRawAsync(exe, args, cancellationToken);
    }

    private static async Task<(int ExitCode, string Output)> RunRawAsync(string exe, IReadOnlyList<string> args, CancellationToken cancellationToken)
    {
        var info = new ProcessStartInfo(exe)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = "/",
        };
        foreach (var a in args) info.ArgumentList.Add(a);
        using var process = Process.Start(info) ?? throw new InvalidOperationException($"could not start {exe}");
        var stdout = process.StandardOutput.ReadToEndAsync(cancellationToken);
        var stderr = process.StandardError.ReadToEndAsync(cancellationToken);
        await process.WaitForExitAsync(cancellationToken).ConfigureAwait(false);
        // A server started by pg_ctl could keep inherited pipes open: read what is there, without waiting on it.
        await Task.WhenAny(Task.WhenAll(stdout, stderr), Task.Delay(2000, cancellationToken)).ConfigureAwait(false);
        var text = stdout.IsCompletedSuccessfully && stderr.IsCompletedSuccessfully ? (stdout.Result + stderr.Result).Trim() : "";
        return (process.ExitCode, text);
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    private static string FindBinDirectory() =>
        FindProgram("initdb", null) is { } initdb && Path.GetDirectoryName(initdb) is { } folder && File.Exists(Path.Combine(folder, "pg_ctl"))
            ? folder
            : throw new FileNotFoundException(
                "PostgreSQL server binaries (initdb, pg_ctl) were not found. Run scripts/setup.sh (installs Debian's postgresql), " +
                "set Concerto:PostgresBinDirectory, or configure ConnectionStrings:Concerto to use an existing server.");

    /// <summary>A PostgreSQL program (initdb, pg_ctl, psql...): in <paramref name="binDirectory"/> when given, else in
    /// Debian's /usr/lib/postgresql/&lt;version&gt;/bin (newest first), else on PATH; null when none has it.</summary>
    public static string? FindProgram(string name, string? binDirectory)
    {
        var folders = new List<string>();
        if (!string.IsNullOrWhiteSpace(binDirectory)) folders.Add(binDirectory);
        if (Directory.Exists("/usr/lib/postgresql"))
            folders.AddRange(Directory.GetDirectories("/usr/lib/postgresql")
                .OrderByDescending(d => int.TryParse(Path.GetFileName(d), out var v) ? v : 0)
                .Select(d => Path.Combine(d, "bin")));
        folders.AddRange((Environment.GetEnvironmentVariable("PATH") ?? "").Split(':', StringSplitOptions.RemoveEmptyEntries));
        return folders.Select(f => Path.Combine(f, name)).FirstOrDefault(File.Exists);
    }
}
