using Npgsql;

namespace Concerto.Ingest.Storage.Catalog;

/// <summary>Small helpers for positional-parameter commands ($1, $2...). Values are always parameters, never pasted.</summary>
internal static class Sql
{
    public static NpgsqlCommand Command(NpgsqlConnection connection, NpgsqlTransaction? tx, string sql, params object?[] args)
    {
        var command = new NpgsqlCommand(sql, connection, tx);
        foreach (var a in args) command.Parameters.Add(new NpgsqlParameter { Value = a ?? DBNull.Value });
        return command;
    }

    public static async Task<int> ExecuteAsync(NpgsqlDataSource db, string sql, CancellationToken cancellationToken, params object?[] args)
    {
        await using var connection = await db.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var command = Command(connection, null, sql, args);
        return await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }

    public static async Task<int> ExecuteAsync(NpgsqlConnection connection, NpgsqlTransaction? tx, string sql, CancellationToken cancellationToken, params object?[] args)
    {
        await using var command = Command(connection, tx, sql, args);
        return await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }

    public static async Task<T?> ScalarAsync<T>(NpgsqlConnection connection, NpgsqlTransaction? tx, string sql, CancellationToken cancellationToken, params object?[] args)
    {
        await using var command = Command(connection, tx, sql, args);
        var value = await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false);
        return value is null or DBNull ? default : (T)value;
    }

    public static async Task<List<T>> ListAsync<T>(NpgsqlDataSource db, string sql, Func<NpgsqlDataReader, T> map, CancellationToken cancellationToken, params object?[] args)
    {
        await using var connection = await db.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var command = Command(connection, null, sql, args);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        var rows = new List<T>();
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false)) rows.Add(map(reader));
        return rows;
    }

    public static T? Get<T>(this NpgsqlDataReader reader, string column)
    {
        var i = reader.GetOrdinal(column);
        return reader.IsDBNull(i) ? default : reader.GetFieldValue<T>(i);
    }
}
