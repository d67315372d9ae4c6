using Concerto.Ingest.Storage.Postgres;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;

namespace Concerto.Ingest.Storage;

/// <summary>Finds the database (configured, else the embedded cluster, started on demand) and brings its schema up to
/// date. Every host calls this once at start-up before it touches the catalogue or Hangfire.</summary>
public static class ConcertoDatabase
{
    public static async Task<string> ResolveConnectionStringAsync(StorageOptions options, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (!string.IsNullOrWhiteSpace(options.ConnectionString)) return options.ConnectionString;
        var embedded = new EmbeddedPostgres(options.ResolveStateDirectory(), options.PostgresBinDirectory);
        return await embedded.EnsureStartedAsync(cancellationToken).ConfigureAwait(false);
    }

    public static async Task MigrateAsync(string connectionString, ILoggerFactory? loggers, CancellationToken cancellationToken)
    {
        await using var dataSource = NpgsqlDataSource.Create(connectionString);
        var migrator = new DatabaseMigrator(dataSource, (loggers ?? NullLoggerFactory.Instance).CreateLogger<DatabaseMigrator>());
        await migrator.MigrateAsync(cancellationToken).ConfigureAwait(false);
    }
}
