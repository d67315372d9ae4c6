using Concerto.Ingest.Storage.Postgres;
using Npgsql;

namespace Concerto.Ingest.Storage.Tests.Postgres;

/// <summary>Each test owns a private cluster in its own temp state folder (initdb costs seconds, so there are two:
/// one lifecycle scenario and one concurrent first start).</summary>
public sealed class EmbeddedPostgresTests
{
    private static readonly CancellationToken None = CancellationToken.None;

    [Fact]
    public async Task StatusAsync_ReportsNothing_WhenStateFolderIsFresh()
    {
        using var folder = new TempFolder("concerto-pg-fresh-");
        var postgres = new EmbeddedPostgres(folder.Path);

        var status = await postgres.StatusAsync(None);

        Assert.False(status.Initialised);
        Assert.False(status.Running);
        Assert.Null(status.Port);
        Assert.Null(status.ConnectionString);
        Assert.Equal(Path.Combine(folder.Path, "pg", "data"), status.DataDirectory);
        Assert.False(await postgres.StopAsync(None));
        Assert.False(Directory.Exists(status.DataDirectory));
    }

    [Fact]
    public async Task EnsureStartedAsync_KeepsPortAndData_WhenCalledAgainAndAfterStop()
    {
        using var folder = new TempFolder("concerto-pg-life-");
        var postgres = new EmbeddedPostgres(folder.Path);
        try
        {
            // First call: creates the cluster, starts it, and hands out a working connection string.
            var first = await postgres.EnsureStartedAsync(None);
            var settings = new NpgsqlConnectionStringBuilder(first);
            Assert.Equal("127.0.0.1", settings.Host);
            Assert.Equal(EmbeddedPostgres.DatabaseName, settings.Database);
            Assert.Equal(1, await ScalarAsync<int>(first, "SELECT 1"));

            var passwordFile = Path.Combine(folder.Path, "pg", "password");
            if (!OperatingSystem.IsWindows())
                Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(passwordFile));
            Assert.False(File.Exists(Path.Combine(folder.Path, "pg", ".initdb-password")));

            var running = await postgres.StatusAsync(None);
            Assert.True(running.Initialised);
            Assert.True(running.Running);
            Assert.Equal(settings.Port, running.Port);
            Assert.Equal(settings.Port, postgres.ReadPort());
            Assert.Equal(first, running.ConnectionString);

            // Second call on a running cluster: same port, same data.
            await ExecuteAsync(first, "CREATE TABLE survivor (id int PRIMARY KEY, note text NOT NULL); INSERT INTO survivor VALUES (7, 'kept')");
            var second = await postgres.EnsureStartedAsync(None);
            Assert.Equal(first, second);
            Assert.Equal("kept", await ScalarAsync<string>(second, "SELECT note FROM survivor WHERE id = 7"));

            // Stop: reported as stopped, and nothing listens any more.
            Assert.True(await postgres.StopAsync(None));
            var stopped = await postgres.StatusAsync(None);
            Assert.True(stopped.Initialised);
            Assert.False(stopped.Running);
            Assert.Null(stopped.ConnectionString);
            await Assert.ThrowsAnyAsync<NpgsqlException>(() => ScalarAsync<int>(first, "SELECT 1"));
            Assert.False(await postgres.StopAsync(None));

            // Start again: the same cluster comes back with its data.
            var third = await postgres.EnsureStartedAsync(None);
            Assert.Equal(postgres.ReadPort(), new NpgsqlConnectionStringBuilder(third).Port);
            Assert.Equal("kept", await ScalarAsync<string>(third, "SELECT note FROM survivor WHERE id = 7"));
            Assert.True((await postgres.StatusAsync(None)).Running);
        }
        finally
        {
            await postgres.StopAsync(None);
        }
    }

    [Fact]
    public async Task EnsureStartedAsync_BothSucceedWithSameConnectionString_WhenCalledConcurrentlyOnFreshFolder()
    {
        using var folder = new TempFolder("concerto-pg-race-");
        // Two instances, as two processes would have: only the lock file in the state folder orders them.
        var one = new EmbeddedPostgres(folder.Path);
        var two = new EmbeddedPostgres(folder.Path);
        try
        {
            var results = await Task.WhenAll(
                Task.Run(() => one.EnsureStartedAsync(None)),
                Task.Run(() => two.EnsureStartedAsync(None)));

            Assert.Equal(results[0], results[1]);
            Assert.Equal(1, await ScalarAsync<int>(results[0], "SELECT 1"));
            Assert.Equal(1L, await ScalarAsync<long>(results[0], "SELECT count(*) FROM pg_database WHERE datname = 'concerto'"));
            Assert.True((await two.StatusAsync(None)).Running);
        }
        finally
        {
            await one.StopAsync(None);
        }
    }

    private static string Unpooled(string connectionString) =>
        new NpgsqlConnectionStringBuilder(connectionString) { Pooling = false, Timeout = 10 }.ConnectionString;

    private static async Task<T> ScalarAsync<T>(string connectionString, string sql)
    {
        await using var connection = new NpgsqlConnection(Unpooled(connectionString));
        await connection.OpenAsync(None);
        await using var command = new NpgsqlCommand(sql, connection);
        return (T)(await command.ExecuteScalarAsync(None))!;
    }

    private static async Task ExecuteAsync(string connectionString, string sql)
    {
        await using var connection = new NpgsqlConnection(Unpooled(connectionString));
        await connection.OpenAsync(None);
        await using var command = new NpgsqlCommand(sql, connection);
        await command.ExecuteNonQueryAsync(None);
    }
}
