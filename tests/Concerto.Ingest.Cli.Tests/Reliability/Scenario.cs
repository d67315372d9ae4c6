using System.Security.Cryptography;
using Concerto.Ingest.Storage.Artifacts;
using Concerto.Ingest.TestSupport;

namespace Concerto.Ingest.Cli.Tests.Reliability;

/// <summary>One reliability scenario's world: a fresh database, an artifact folder, and `concerto` worker processes on
/// them (short leases, so take-overs happen within the test), plus what the scenario checks afterwards.</summary>
public sealed class Scenario : IAsyncDisposable
{
    private readonly List<ConcertoProcess> _workers = [];

    private readonly bool _ownsArtifacts;

    private Scenario(TestDatabase db, string artifacts, bool ownsArtifacts) => (Db, Artifacts, _ownsArtifacts) = (db, artifacts, ownsArtifacts);

    public TestDatabase Db { get; }
    public string Artifacts { get; }
    public string ConnectionString => Db.ConnectionString;

    public static async Task<Scenario> CreateAsync(string? artifactRoot = null)
    {
        var db = new TestDatabase();
        await db.InitializeAsync();
        return new Scenario(db, artifactRoot ?? Directory.CreateTempSubdirectory("concerto-scenario-").FullName, ownsArtifacts: artifactRoot is null);
    }

    public static Dictionary<string, string> WorkerEnvironment(string? pauseAt = null)
    {
        // Without COLMAP: these scenarios test crashes, restarts and full disks on ffmpeg's test patterns, which classic turns
        // down at once, where COLMAP would match them for a minute or more each (and not the same way twice).
        var env = new Dictionary<string, string>
        {
            ["Concerto__Workers__LeaseSeconds"] = "8", ["Concerto__Workers__InvisibilityTimeoutSeconds"] = "30",
            ["Concerto__Reconstruction__ColmapPath"] = "/nonexistent/colmap",
        };
        if (pauseAt is not null) env["CONCERTO_PAUSE_AT"] = pauseAt;
        return env;
    }

    /// <summary>Starts `concerto worker -v` (one thread) on the given queues and waits until it has registered.</summary>
    public async Task<ConcertoProcess> StartWorkerAsync(string? queues = null, string? pauseAt = null,
        IReadOnlyDictionary<string, string>? environment = null)
    {
        string[] args = queues is null ? ["worker", "-v", "--workers", "1"] : ["worker", "-v", "--workers", "1", "--queues", queues];
        var env = WorkerEnvironment(pauseAt);
        foreach (var (name, value) in environment ?? new Dictionary<string, string>()) env[name] = value;
        var worker = ConcertoProcess.Start(ConnectionString, Artifacts, env, args);
        _workers.Add(worker);
        await worker.WaitForOutputAsync("working queues", TimeSpan.FromSeconds(90));
        return worker;
    }

    public async Task IngestDetachedAsync(params string[] inputs)
    {
        var (exit, output) = await ConcertoProcess.RunAsync(ConnectionString, Artifacts, ["ingest", "--detach", .. inputs]);
        Assert.True(exit == 0, output);
    }

    /// <summary>Waits until no source of the database is still queued or in progress; fails with the workers' output when
    /// that takes longer than <paramref name="timeout"/>.</summary>
    public async Task WaitUntilSettledAsync(int sources, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (await Db.CountAsync("SELECT count(*) FROM sources WHERE state IN ('succeeded', 'rejected', 'failed')") < sources)
        {
            if (DateTime.UtcNow > deadline)
                Assert.Fail($"sources did not settle in {timeout.TotalSeconds:0} s; states: {await StatesAsync()}\n{WorkerOutput()}");
            await Task.Delay(250);
        }
    }

    public async Task<string> StatesAsync()
    {
        await using var command = Db.DataSource.CreateCommand(
            "SELECT string_agg(s.id || ':' || s.state || coalesce(' (' || s.error || ')', ''), ', ' ORDER BY s.id) FROM sources s");
        return (await command.ExecuteScalarAsync())?.ToString() ?? "";
    }

    public string WorkerOutput() => string.Join("\n", _workers.Select((w, i) => $"--- worker {i} (pid {w.Id}) ---\n{w.Output}"));

    /// <summary>What a run left behind, compared between runs: rows per table, and each committed stage folder's files with
    /// their SHA-256 (relative to the folder).</summary>
    /// <param name="store">Where the artifacts are (default: the scenario's folder).</param>
    public async Task<Outputs> OutputsAsync(IArtifactStore? store = null)
    {
        store ??= new FolderArtifactStore(Artifacts);
        var rows = new SortedDictionary<string, long>(StringComparer.Ordinal);
        foreach (var table in new[] { "videos", "runs", "run_stages", "frame_scores", "keyframes", "reconstructions", "cameras", "segments", "segment_images", "segment_features" })
            rows[table] = await Db.CountAsync($"SELECT count(*) FROM {table}");

        var files = new SortedDictionary<string, string>(StringComparer.Ordinal);
        await using (var command = Db.DataSource.CreateCommand("SELECT stage, artifact_key FROM run_stages WHERE artifact_key IS NOT NULL"))
        await using (var reader = await command.ExecuteReaderAsync())
        {
            while (await reader.ReadAsync())
            {
                var folder = await store.LocalPathAsync(reader.GetString(1), CancellationToken.None);
                foreach (var file in Directory.EnumerateFiles(folder, "*", SearchOption.AllDirectories))
                    files[$"{reader.GetString(0)}/{Path.GetRelativePath(folder, file)}"] = Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(file)));
            }
        }

        return new Outputs(rows, files);
    }

    /// <summary>The keys the run_stages rows point at.</summary>
    public async Task<IReadOnlyList<string>> CommittedKeysAsync()
    {
        var keys = new List<string>();
        await using var command = Db.DataSource.CreateCommand("SELECT artifact_key FROM run_stages WHERE artifact_key IS NOT NULL");
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync()) keys.Add(reader.GetString(0));
        return keys;
    }

    /// <summary>Folders under runs/&lt;run&gt;/&lt;stage&gt;/ that no run_stages row points at (orphans), and whatever is left
    /// in the staging area.</summary>
    public async Task<IReadOnlyList<string>> StrayArtifactsAsync()
    {
        var committed = new HashSet<string>(StringComparer.Ordinal);
        await using (var command = Db.DataSource.CreateCommand("SELECT artifact_key FROM run_stages WHERE artifact_key IS NOT NULL"))
        await using (var reader = await command.ExecuteReaderAsync())
            while (await reader.ReadAsync()) committed.Add(reader.GetString(0));

        var stray = new List<string>();
        var runs = Path.Combine(Artifacts, "runs");
        if (Directory.Exists(runs))
        {
            foreach (var run in Directory.EnumerateDirectories(runs))
            foreach (var stage in Directory.EnumerateDirectories(run))
            foreach (var key in Directory.EnumerateDirectories(stage))
            {
                var relative = Path.GetRelativePath(Artifacts, key).Replace('\\', '/');
                if (!committed.Contains(relative)) stray.Add(relative);
            }
        }

        var staging = Path.Combine(Artifacts, ".staging");
        if (Directory.Exists(staging)) stray.AddRange(Directory.EnumerateFileSystemEntries(staging).Select(e => ".staging/" + Path.GetFileName(e)));
        return stray;
    }

    public async Task StopWorkersAsync()
    {
        foreach (var worker in _workers) await worker.StopAsync();
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var worker in _workers) worker.Dispose();
        await Db.DisposeAsync();
        if (_ownsArtifacts && Directory.Exists(Artifacts)) Directory.Delete(Artifacts, recursive: true);
    }
}

public sealed record Outputs(SortedDictionary<string, long> Rows, SortedDictionary<string, string> Files);
