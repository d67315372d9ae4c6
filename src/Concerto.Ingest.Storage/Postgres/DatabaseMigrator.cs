using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Logging;
using Npgsql;

namespace Concerto.Ingest.Storage.Postgres;

/// <summary>Applies the ordered SQL scripts from migrations/ (embedded in this assembly) that a database has not seen.
/// A session-level advisory lock makes concurrent starts wait for each other: only the first migrates, the rest find
/// the work done. Each script runs in its own transaction with its bookkeeping row.</summary>
public sealed partial class DatabaseMigrator(NpgsqlDataSource dataSource, ILogger<DatabaseMigrator> logger)
{
    private const long AdvisoryLockKey = 0x436f6e6365727430; // "Concert0"

    public sealed record Script(string Version, string Sql, string Checksum);

    public static IReadOnlyList<Script> Scripts { get; } = LoadScripts();

    /// <summary>Applies pending scripts; returns the versions it applied.</summary>
    public async Task<IReadOnlyList<string>> MigrateAsync(CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await ExecuteAsync(connection, null, "SELECT pg_advisory_lock($1)", cancellationToken, AdvisoryLockKey).ConfigureAwait(false);
        try
        {
            await ExecuteAsync(connection, null, """
                CREATE TABLE IF NOT EXISTS schema_migrations (
                    version    text PRIMARY KEY,
                    checksum   text NOT NULL,
                    applied_at timestamptz NOT NULL DEFAULT now())
                """, cancellationToken).ConfigureAwait(false);

            var applied = new Dictionary<string, string>();
            await using (var read = new NpgsqlCommand("SELECT version, checksum FROM schema_migrations", connection))
            await using (var reader = await read.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false))
            {
                while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
                    applied[reader.GetString(0)] = reader.GetString(1);
            }

            var done = new List<string>();
            foreach (var script in Scripts)
            {
                if (applied.TryGetValue(script.Version, out var checksum))
                {
                    if (checksum != script.Checksum)
                        throw new InvalidOperationException(
                            $"Migration {script.Version} was changed after it was applied to this database. Never edit an applied migration: add a new one.");
                    continue;
                }

                await using var tx = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
                await ExecuteAsync(connection, tx, script.Sql, cancellationToken).ConfigureAwait(false);
                await ExecuteAsync(connection, tx, "INSERT INTO schema_migrations (version, checksum) VALUES ($1, $2)",
                    cancellationToken, script.Version, script.Checksum).ConfigureAwait(false);
                await tx.CommitAsync(cancellationToken).ConfigureAwait(false);
                LogApplied(logger, script.Version);
                done.Add(script.Version);
            }

            return done;
        }
        finally
        {
            await ExecuteAsync(connection, null, "SELECT pg_advisory_unlock($1)", CancellationToken.None, AdvisoryLockKey).ConfigureAwait(false);
        }
    }

    private static async Task ExecuteAsync(NpgsqlConnection connection, NpgsqlTransaction? tx, string sql, CancellationToken cancellationToken, params object[] args)
    {
        await using var command = new NpgsqlCommand(sql, connection, tx);
        foreach (var a in args) command.Parameters.Add(new NpgsqlParameter { Value = a });
        await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }

    private static List<Script> LoadScripts()
    {
        var assembly = typeof(DatabaseMigrator).Assembly;
        return assembly.GetManifestResourceNames()
            .Where(n => n.StartsWith("migrations/", StringComparison.Ordinal) && n.EndsWith(".sql", StringComparison.Ordinal))
            .Order(StringComparer.Ordinal)
            .Select(n =>
            {
                using var stream = assembly.GetManifestResourceStream(n)!;
                using var reader = new StreamReader(stream, Encoding.UTF8);
                var sql = reader.ReadToEnd();
                var version = Path.GetFileNameWithoutExtension(n["migrations/".Length..]);
                return new Script(version, sql, Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(sql))));
            })
            .ToList();
    }

    [LoggerMessage(EventId = 1001, Level = LogLevel.Information, Message = "Applied migration {Version}")]
    private static partial void LogApplied(ILogger logger, string version);
}
