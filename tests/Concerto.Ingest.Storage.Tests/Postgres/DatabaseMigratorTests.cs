using System.Security.Cryptography;
using System.Text;
using Concerto.Ingest.Storage.Postgres;
using Concerto.Ingest.TestSupport;
using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;

namespace Concerto.Ingest.Storage.Tests.Postgres;

/// <summary>Every test gets its own empty database on the shared test cluster (the fixture's database only serves to
/// reach that cluster).</summary>
public sealed class DatabaseMigratorTests(TestDatabase cluster) : IClassFixture<TestDatabase>, IAsyncLifetime
{
    private static readonly CancellationToken None = CancellationToken.None;
    private static readonly string[] SchemaTables =
        ["profiles", "videos", "runs", "ingest_batches", "sources", "run_stages", "frame_scores", "keyframes"];

    private readonly string _name = "migrate_" + Guid.NewGuid().ToString("N")[..16];
    private string _connectionString = "";

    public async Task InitializeAsync()
    {
        await AdminExecuteAsync($"CREATE DATABASE {_name}");
        _connectionString = new NpgsqlConnectionStringBuilder(cluster.ConnectionString) { Database = _name }.ConnectionString;
    }

    public async Task DisposeAsync() => await AdminExecuteAsync($"DROP DATABASE IF EXISTS {_name} WITH (FORCE)");

    [Fact]
    public void Scripts_MatchRepositoryMigrationFiles_InOrderWithContentChecksums()
    {
        var files = Directory.GetFiles(Path.Combine(AppContext.BaseDirectory, "migrations"), "*.sql")
            .Order(StringComparer.Ordinal)
            .ToList();
        Assert.NotEmpty(files);

        Assert.Equal(files.Select(Path.GetFileNameWithoutExtension), DatabaseMigrator.Scripts.Select(s => s.Version));
        Assert.Contains(DatabaseMigrator.Scripts, s => s.Version == "0001_initial");
        foreach (var (file, script) in files.Zip(DatabaseMigrator.Scripts))
        {
            var text = File.ReadAllText(file);
            Assert.Equal(text, script.Sql);
            Assert.Equal(Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(text))), script.Checksum);
        }
    }

    [Fact]
    public async Task MigrateAsync_AppliesScriptsExactlyOnce_WhenEightMigratorsRaceOnEmptyDatabase()
    {
        var dataSources = Enumerable.Range(0, 8).Select(_ => NpgsqlDataSource.Create(_connectionString)).ToList();
        try
        {
            var applied = await Task.WhenAll(dataSources.Select(ds =>
                Task.Run(() => new DatabaseMigrator(ds, NullLogger<DatabaseMigrator>.Instance).MigrateAsync(None))));

            var allVersions = DatabaseMigrator.Scripts.Select(s => s.Version).ToList();
            var winner = Assert.Single(applied, a => a.Count > 0);
            Assert.Equal(allVersions, winner);
            Assert.Equal(7, applied.Count(a => a.Count == 0));

            var recorded = await ListAsync("SELECT version, checksum FROM schema_migrations ORDER BY version",
                r => (Version: r.GetString(0), Checksum: r.GetString(1)));
            Assert.Equal(DatabaseMigrator.Scripts.Select(s => (s.Version, s.Checksum)), recorded);
            foreach (var table in SchemaTables)
                Assert.True(await ScalarAsync<bool>($"SELECT to_regclass('public.{table}') IS NOT NULL"), $"table {table} is missing");
        }
        finally
        {
            foreach (var ds in dataSources) await ds.DisposeAsync();
        }
    }

    [Fact]
    public async Task MigrateAsync_AppliesNothing_WhenDatabaseIsUpToDate()
    {
        await using var dataSource = NpgsqlDataSource.Create(_connectionString);
        var migrator = new DatabaseMigrator(dataSource, NullLogger<DatabaseMigrator>.Instance);

        var firstRun = await migrator.MigrateAsync(None);
        var secondRun = await migrator.MigrateAsync(None);

        Assert.Equal(DatabaseMigrator.Scripts.Count, firstRun.Count);
        Assert.Empty(secondRun);
        Assert.Equal(DatabaseMigrator.Scripts.Count, await ScalarAsync<long>("SELECT count(*) FROM schema_migrations"));
    }

    [Fact]
    public async Task MigrateAsync_ThrowsNamingTheVersion_WhenAppliedScriptChecksumWasChanged()
    {
        await using var dataSource = NpgsqlDataSource.Create(_connectionString);
        var migrator = new DatabaseMigrator(dataSource, NullLogger<DatabaseMigrator>.Instance);
        await migrator.MigrateAsync(None);
        var version = DatabaseMigrator.Scripts[0].Version;
        await ExecuteAsync($"UPDATE schema_migrations SET checksum = 'tampered' WHERE version = '{version}'");

        var e = await Assert.ThrowsAsync<InvalidOperationException>(() => migrator.MigrateAsync(None));

        Assert.Contains(version, e.Message, StringComparison.Ordinal);
        Assert.Equal("tampered", await ScalarAsync<string>($"SELECT checksum FROM schema_migrations WHERE version = '{version}'"));

        // The advisory lock was let go on the way out: a migrator on another connection pool gets through.
        await ExecuteAsync($"UPDATE schema_migrations SET checksum = '{DatabaseMigrator.Scripts[0].Checksum}' WHERE version = '{version}'");
        await using var other = NpgsqlDataSource.Create(_connectionString);
        var again = new DatabaseMigrator(other, NullLogger<DatabaseMigrator>.Instance).MigrateAsync(None);
        Assert.Same(again, await Task.WhenAny(again, Task.Delay(TimeSpan.FromSeconds(10))));
        Assert.Empty(await again);
    }

    private async Task AdminExecuteAsync(string sql)
    {
        var admin = new NpgsqlConnectionStringBuilder(cluster.ConnectionString) { Database = "postgres", Pooling = false };
        await using var connection = new NpgsqlConnection(admin.ConnectionString);
        await connection.OpenAsync(None);
        await using var command = new NpgsqlCommand(sql, connection);
        await command.ExecuteNonQueryAsync(None);
    }

    private async Task ExecuteAsync(string sql)
    {
        await using var connection = new NpgsqlConnection(_connectionString);
        await connection.OpenAsync(None);
        await using var command = new NpgsqlCommand(sql, connection);
        await command.ExecuteNonQueryAsync(None);
    }

    private async Task<T> ScalarAsync<T>(string sql)
    {
        await using var connection = new NpgsqlConnection(_connectionString);
        await connection.OpenAsync(None);
        await using var command = new NpgsqlCommand(sql, connection);
        return (T)(await command.ExecuteScalarAsync(None))!;
    }

    private async Task<List<T>> ListAsync<T>(string sql, Func<NpgsqlDataReader, T> map)
    {
        await using var connection = new NpgsqlConnection(_connectionString);
        await connection.OpenAsync(None);
        await using var command = new NpgsqlCommand(sql, connection);
        await using var reader = await command.ExecuteReaderAsync(None);
        var rows = new List<T>();
        while (await reader.ReadAsync(None)) rows.Add(map(reader));
        return rows;
    }
}
