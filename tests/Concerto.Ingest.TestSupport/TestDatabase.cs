using Concerto.Ingest.Storage;
using Concerto.Ingest.Storage.Postgres;
using Npgsql;
using Xunit;

namespace Concerto.Ingest.TestSupport;

/// <summary>A fresh, migrated database on a real PostgreSQL: the one in TEST_DATABASE_URL if set (a connection string
/// to a server where the user may create databases), else an embedded test cluster in the temp folder shared by all
/// test assemblies (its start-up lock makes parallel starts safe). Dropped on dispose.</summary>
public sealed class TestDatabase : IAsyncLifetime
{
    private static readonly SemaphoreSlim ClusterGate = new(1, 1);
    private static string? _adminConnectionString;

    public string ConnectionString { get; private set; } = "";
    public string Name { get; } = "test_" + Guid.NewGuid().ToString("N")[..16];
    public NpgsqlDataSource DataSource { get; private set; } = null!;

    /// <summary>State folder of the shared embedded test cluster.</summary>
    public static string ClusterStateDirectory => Path.Combine(Path.GetTempPath(), "concerto-test-state");

    public async Task InitializeAsync()
    {
        var admin = await AdminConnectionStringAsync().ConfigureAwait(false);
        await using (var connection = new NpgsqlConnection(admin))
        {
            await connection.OpenAsync().ConfigureAwait(false);
            await using var create = new NpgsqlCommand($"CREATE DATABASE {Name}", connection);
            await create.ExecuteNonQueryAsync().ConfigureAwait(false);
        }

        ConnectionString = new NpgsqlConnectionStringBuilder(admin) { Database = Name }.ConnectionString;
        await ConcertoDatabase.MigrateAsync(ConnectionString, null, CancellationToken.None).ConfigureAwait(false);
        DataSource = NpgsqlDataSource.Create(ConnectionString);
    }

    public async Task DisposeAsync()
    {
        await DataSource.DisposeAsync().ConfigureAwait(false);
        NpgsqlConnection.ClearAllPools();
        await using var connection = new NpgsqlConnection(await AdminConnectionStringAsync().ConfigureAwait(false));
        await connection.OpenAsync().ConfigureAwait(false);
        await using var drop = new NpgsqlCommand($"DROP DATABASE IF EXISTS {Name} WITH (FORCE)", connection);
        await drop.ExecuteNonQueryAsync().ConfigureAwait(false);
    }

    public async Task<long> CountAsync(string sql, params object[] args)
    {
        await using var command = DataSource.CreateCommand(sql);
        foreach (var a in args) command.Parameters.Add(new NpgsqlParameter { Value = a });
        return Convert.ToInt64(await command.ExecuteScalarAsync().ConfigureAwait(false), System.Globalization.CultureInfo.InvariantCulture);
    }

    private static async Task<string> AdminConnectionStringAsync()
    {
        await ClusterGate.WaitAsync().ConfigureAwait(false);
        try
        {
            if (_adminConnectionString is not null) return _adminConnectionString;
            var configured = Environment.GetEnvironmentVariable("TEST_DATABASE_URL");
            var connectionString = !string.IsNullOrWhiteSpace(configured)
                ? configured
                : await new EmbeddedPostgres(ClusterStateDirectory).EnsureStartedAsync(CancellationToken.None).ConfigureAwait(false);
            return _adminConnectionString = new NpgsqlConnectionStringBuilder(connectionString) { Database = "postgres" }.ConnectionString;
        }
        finally
        {
            ClusterGate.Release();
        }
    }
}
