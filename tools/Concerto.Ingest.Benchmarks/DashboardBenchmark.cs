using System.CommandLine;
using System.Diagnostics;
using Concerto.Ingest.Cli;
using Concerto.Ingest.Server;
using Concerto.Ingest.Storage;
using Concerto.Ingest.Storage.Catalog;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Playwright;
using Npgsql;
using Spectre.Console;

namespace Concerto.Ingest.Benchmarks;

/// <summary>`concerto bench dashboard`: the overview page's load time with many runs indexed. A temporary database on the
/// configured server is filled with N runs (five stages each, some running or failed, keyframes), `concerto serve`'s app
/// serves it, and headless Chromium loads the overview until every run's row is drawn. Beside it, the same list as the
/// bare catalogue query and as the API's JSON, so the page's own share shows.</summary>
public static class DashboardBenchmark
{
    private const string Chromium = "/usr/bin/chromium";

    public static Command Create()
    {
        var runs = new Option<int>("--runs") { Description = "Runs to index.", DefaultValueFactory = _ => 1000 };
        var loads = new Option<int>("--loads") { Description = "Timed page loads after one warm-up; the median counts.", DefaultValueFactory = _ => 5 };
        var command = new Command("dashboard", "Overview page load time in headless Chromium with N runs indexed, beside the bare query and the API.") { runs, loads };
        command.SetAction((parse, ct) => CliRun.GuardAsync(() => RunAsync(parse.GetValue(runs), parse.GetValue(loads), ct)));
        return command;
    }

    private static async Task<int> RunAsync(int runs, int loads, CancellationToken cancellationToken)
    {
        if (runs < 1 || loads < 1) throw new ArgumentException("--runs and --loads must be at least 1.");
        if (!File.Exists(Chromium)) throw new InvalidOperationException($"{Chromium} is missing: run scripts/setup.sh --browser (installs Debian's chromium).");
        var env = new CliEnvironment();
        var main = new NpgsqlConnectionStringBuilder(await ConcertoDatabase.ResolveConnectionStringAsync(env.Storage, cancellationToken).ConfigureAwait(false));
        var name = $"concerto_bench_{Guid.NewGuid():N}"[..30];
        var bench = new NpgsqlConnectionStringBuilder(main.ConnectionString) { Database = name, Pooling = false }.ConnectionString;
        await ExecuteAsync(main.ConnectionString, $"CREATE DATABASE {name}", cancellationToken).ConfigureAwait(false);
        var artifacts = Directory.CreateTempSubdirectory("concerto-bench-dashboard-").FullName;
        try
        {
            await ConcertoDatabase.MigrateAsync(bench, NullLoggerFactory.Instance, cancellationToken).ConfigureAwait(false);
            var clock = Stopwatch.StartNew();
            await ExecuteAsync(bench, Seed(runs), cancellationToken).ConfigureAwait(false);
            AnsiConsole.MarkupLineInterpolated($"indexed {runs} runs (5 stages, 20 keyframes each) in a temporary database in {clock.Elapsed.TotalSeconds:0.0} s");

            await using var app = ConcertoServer.Build(["--urls", "http://127.0.0.1:0", "--Logging:LogLevel:Default=Warning"], bench,
                env.Settings with { Storage = new StorageOptions { ArtifactRoot = artifacts } }, ServerWork.AllStages(1));
            await app.StartAsync(cancellationToken).ConfigureAwait(false);
            var url = app.Urls.Single(); // the port Kestrel bound

            await using var data = NpgsqlDataSource.Create(bench);
            var queries = new StatusQueries(data);
            var query = await MedianAsync(loads, async () => { await queries.RunsAsync(runs, null, null, cancellationToken).ConfigureAwait(false); }).ConfigureAwait(false);
            using var http = new HttpClient { BaseAddress = new Uri(url) };
            var bytes = 0;
            var api = await MedianAsync(loads, async () =>
            {
                bytes = (await http.GetByteArrayAsync(new Uri($"/api/runs?limit={runs}", UriKind.Relative), cancellationToken).ConfigureAwait(false)).Length;
            }).ConfigureAwait(false);

            using var playwright = await Playwright.CreateAsync().ConfigureAwait(false);
            await using var browser = await playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
            {
                ExecutablePath = Chromium,
                Headless = true,
                Args = ["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
            }).ConfigureAwait(false);
            var page = await browser.NewPageAsync().ConfigureAwait(false);
            var shown = Math.Min(runs, 1000); // the overview lists the newest 1,000
            var load = await MedianAsync(loads, async () =>
            {
                await page.GotoAsync(url + "/", new PageGotoOptions { WaitUntil = WaitUntilState.Commit }).ConfigureAwait(false);
                await page.WaitForFunctionAsync($"() => document.querySelectorAll('#runs tbody tr').length === {shown}",
                    null, new PageWaitForFunctionOptions { PollingInterval = 5, Timeout = 120_000 }).ConfigureAwait(false);
            }).ConfigureAwait(false);
            var navigation = await page.EvaluateAsync<double>("performance.getEntriesByType('navigation')[0].domContentLoadedEventEnd").ConfigureAwait(false);
            await browser.CloseAsync().ConfigureAwait(false); // ends the page's live event stream before the server stops

            AnsiConsole.MarkupLineInterpolated($"catalogue query for {runs} runs (StatusQueries.RunsAsync): {query.TotalMilliseconds:0} ms");
            AnsiConsole.MarkupLineInterpolated($"GET /api/runs?limit={runs}: {api.TotalMilliseconds:0} ms, {bytes / 1024.0:0} KiB of JSON ({api / query:0.0}x the query)");
            AnsiConsole.MarkupLineInterpolated(
                $"overview page, navigation to {shown} rows drawn (headless Chromium, median of {loads}): {load.TotalMilliseconds:0} ms ({load / api:0.0}x the API call; DOMContentLoaded at {navigation:0} ms)");
            await app.StopAsync(cancellationToken).ConfigureAwait(false);
            return 0;
        }
        finally
        {
            NpgsqlConnection.ClearAllPools();
            await ExecuteAsync(main.ConnectionString, $"DROP DATABASE IF EXISTS {name} WITH (FORCE)", CancellationToken.None).ConfigureAwait(false);
            Directory.Delete(artifacts, recursive: true);
        }
    }

    /// <summary>N videos and runs under one profile; every stage succeeded with timings, except every 20th run failed at
    /// reconstruct and every 25th still decoding.</summary>
    private static string Seed(int runs) => $"""
        INSERT INTO profiles (hash, name, version, body) VALUES ('bench', 'video-default', 1, '{"{}"}');
        INSERT INTO videos (sha256, size_bytes, path, container, codec, width, height, rotation, frame_rate, duration_s, frame_count, has_audio)
            SELECT sha256(int4send(g)), 50000000, '/corpus/walkthrough-' || lpad(g::text, 5, '0') || '.mp4', 'mov,mp4', 'h264', 1920, 1080, 0, 30, 120, 3600, false
            FROM generate_series(1, {runs}) g;
        INSERT INTO runs (video_id, profile_hash) SELECT id, 'bench' FROM videos ORDER BY id;
        INSERT INTO run_stages (run_id, stage, state, executions, progress_done, progress_total, error, worker, started_at, finished_at, updated_at)
            SELECT r.id, s.stage,
                   CASE WHEN r.id % 20 = 0 AND s.ord = 3 THEN 'failed' WHEN r.id % 20 = 0 AND s.ord > 3 THEN 'pending'
                        WHEN r.id % 25 = 0 AND s.ord = 2 THEN 'running' WHEN r.id % 25 = 0 AND s.ord > 2 THEN 'pending' ELSE 'succeeded' END,
                   1, 3600, 3600,
                   CASE WHEN r.id % 20 = 0 AND s.ord = 3 THEN 'reconstruct: VGGT model file not found (benchmark row)' END,
                   'bench-worker', now() - interval '1 hour' + s.ord * interval '5 minutes', now() - interval '1 hour' + s.ord * interval '6 minutes', now()
            FROM runs r CROSS JOIN (VALUES ('probe', 1), ('decode', 2), ('reconstruct', 3), ('segment', 4), ('featurize', 5)) s(stage, ord);
        INSERT INTO keyframes (run_id, frame_index, time_s, sharpness, width, height, artifact_key)
            SELECT r.id, k * 30, k, 100, 518, 292, 'runs/' || r.id || '/decode/' || k || '.jpg' FROM runs r CROSS JOIN generate_series(1, 20) k;
        ANALYZE;
        """;

    private static async Task<TimeSpan> MedianAsync(int repeats, Func<Task> action)
    {
        await action().ConfigureAwait(false); // warm-up
        var times = new List<TimeSpan>();
        for (var i = 0; i < repeats; i++)
        {
            var clock = Stopwatch.StartNew();
            await action().ConfigureAwait(false);
            times.Add(clock.Elapsed);
        }

        return times.Order().ElementAt(times.Count / 2);
    }

    private static async Task ExecuteAsync(string connectionString, string sql, CancellationToken cancellationToken)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var command = new NpgsqlCommand(sql, connection);
        await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }
}
