using Concerto.Ingest.Storage;
using Concerto.Ingest.Storage.Postgres;

namespace Concerto.Ingest.Cli.Tests.Reliability;

/// <summary>PostgreSQL restarts (fast shutdown: every connection cut) while two workers are in the middle of a batch.
/// Jobs retry and complete, and no stage of any run is ever worked on by two executions at the same time.</summary>
public sealed class PostgresRestartTests
{
    [Fact]
    public async Task Batch_Completes_WithoutConcurrentExecutions_WhenPostgresRestartsMidIngest()
    {
        // A cluster of its own: restarting the shared test cluster would break every other test running meanwhile.
        var state = Directory.CreateTempSubdirectory("concerto-restart-pg-").FullName;
        var cluster = new EmbeddedPostgres(state);
        var connectionString = await cluster.EnsureStartedAsync(CancellationToken.None);
        await ConcertoDatabase.MigrateAsync(connectionString, null, CancellationToken.None);
        var artifacts = Directory.CreateTempSubdirectory("concerto-restart-artifacts-").FullName;
        var workers = new List<ConcertoProcess>();
        try
        {
            var videos = (await Task.WhenAll(Enumerable.Range(0, 2).Select(i => ScaleOutTests.SynthAsync(artifacts, seed: 40 + i))))
                .Concat(await Task.WhenAll(Enumerable.Range(0, 4).Select(i => TestSupport.TestVideos.PatternAsync(seconds: 6, width: 480 + 16 * i, height: 270))))
                .ToArray();
            for (var i = 0; i < 2; i++)
            {
                var worker = ConcertoProcess.Start(connectionString, artifacts, Scenario.WorkerEnvironment(), "worker", "-v", "--workers", "2");
                workers.Add(worker);
                await worker.WaitForOutputAsync("working queues", TimeSpan.FromSeconds(90));
            }

            var (exit, output) = await ConcertoProcess.RunAsync(connectionString, artifacts, ["ingest", "--detach", .. videos]);
            Assert.True(exit == 0, output);
            await WaitAsync(connectionString, "SELECT count(*) FROM run_stages WHERE state = 'running' AND stage <> 'probe'", 1, TimeSpan.FromMinutes(2));

            Assert.True(await cluster.StopAsync(CancellationToken.None));
            await Task.Delay(TimeSpan.FromSeconds(3));
            await cluster.EnsureStartedAsync(CancellationToken.None);

            await WaitAsync(connectionString, "SELECT count(*) FROM sources WHERE state IN ('succeeded', 'failed', 'rejected')", videos.Length,
                TimeSpan.FromMinutes(5), () => string.Join("\n", workers.Select(w => w.Output)));
            foreach (var worker in workers) await worker.StopAsync();

            Assert.Equal(videos.Length, await CountAsync(connectionString, "SELECT count(*) FROM sources WHERE state = 'succeeded'"));
            Assert.Equal(videos.Length * 4, await CountAsync(connectionString, "SELECT count(*) FROM run_stages WHERE stage <> 'probe' AND state = 'succeeded'"));
            Assert.Equal(videos.Length, await CountAsync(connectionString, "SELECT count(DISTINCT run_id) FROM keyframes"));
            // How many stage executions the outage cut short (they were retried): for the record, it depends on timing.
            System.Console.WriteLine($"stage executions after the restart: {await CountAsync(connectionString, "SELECT sum(executions) FROM run_stages WHERE stage <> 'probe'")} for {videos.Length * 4} stages");
            AssertNoOverlappingExecutions(workers);
        }
        finally
        {
            foreach (var worker in workers) worker.Dispose();
            await cluster.StopAsync(CancellationToken.None);
            Directory.Delete(state, recursive: true);
            Directory.Delete(artifacts, recursive: true);
        }
    }

    /// <summary>From the workers' "Run R stage S: claimed as C" and "Run R stage S: C ended, ..." lines (timed as they
    /// arrived): the executions of each run's stage follow one another, never overlap.</summary>
    private static void AssertNoOverlappingExecutions(IReadOnlyList<ConcertoProcess> workers)
    {
        var executions = new Dictionary<string, List<(DateTime Start, DateTime End, string Claim)>>(StringComparer.Ordinal);
        foreach (var worker in workers)
        {
            var open = new Dictionary<string, (string Key, DateTime Start)>(StringComparer.Ordinal);
            foreach (var (at, line) in worker.Lines)
            {
                var claimed = System.Text.RegularExpressions.Regex.Match(line, @"Run (\d+) stage (\w+): claimed as (\S+)");
                if (claimed.Success)
                {
                    open[claimed.Groups[3].Value] = ($"{claimed.Groups[1].Value}/{claimed.Groups[2].Value}", at);
                    continue;
                }

                var ended = System.Text.RegularExpressions.Regex.Match(line, @"Run (\d+) stage (\w+): (\S+) ended");
                if (ended.Success && open.Remove(ended.Groups[3].Value, out var started))
                {
                    if (!executions.TryGetValue(started.Key, out var list)) executions[started.Key] = list = [];
                    list.Add((started.Start, at, ended.Groups[3].Value));
                }
            }

            Assert.Empty(open);   // every execution that started also ended
        }

        Assert.NotEmpty(executions);
        foreach (var (stage, list) in executions)
        {
            var ordered = list.OrderBy(e => e.Start).ToList();
            for (var i = 1; i < ordered.Count; i++)
                Assert.True(ordered[i].Start >= ordered[i - 1].End,
                    $"run/stage {stage}: {ordered[i].Claim} started at {ordered[i].Start:O} before {ordered[i - 1].Claim} ended at {ordered[i - 1].End:O}");
        }
    }

    private static async Task<long> CountAsync(string connectionString, string sql)
    {
        await using var db = Npgsql.NpgsqlDataSource.Create(connectionString);
        await using var command = db.CreateCommand(sql);
        return Convert.ToInt64(await command.ExecuteScalarAsync(), System.Globalization.CultureInfo.InvariantCulture);
    }

    private static async Task WaitAsync(string connectionString, string sql, long expected, TimeSpan timeout, Func<string>? describe = null)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            try
            {
                if (await CountAsync(connectionString, sql) >= expected) return;
            }
            catch (Npgsql.NpgsqlException)
            {
                // the server is restarting
            }

            if (DateTime.UtcNow > deadline) Assert.Fail($"'{sql}' did not reach {expected} in {timeout.TotalSeconds:0} s\n{describe?.Invoke()}");
            await Task.Delay(200);
        }
    }
}
