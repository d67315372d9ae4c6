using System.CommandLine;
using Concerto.Ingest.Storage.Postgres;
using Spectre.Console;

namespace Concerto.Ingest.Cli.Commands;

/// <summary>`concerto db status|start|stop`: the embedded PostgreSQL cluster (when no connection string is configured).</summary>
public static class DbCommand
{
    public static Command Create()
    {
        var status = new Command("status", "Show whether the database is reachable and where it is.");
        status.SetAction((_, ct) => CliRun.GuardAsync(() => StatusAsync(ct)));
        var start = new Command("start", "Start the embedded cluster (created on first use) and apply migrations.");
        start.SetAction((_, ct) => CliRun.GuardAsync(() => StartAsync(ct)));
        var stop = new Command("stop", "Stop the embedded cluster.");
        stop.SetAction((_, ct) => CliRun.GuardAsync(() => StopAsync(ct)));
        return new Command("db", "Manage the database.") { status, start, stop };
    }

    private static async Task<int> StatusAsync(CancellationToken cancellationToken)
    {
        var env = new CliEnvironment();
        if (!string.IsNullOrWhiteSpace(env.Storage.ConnectionString))
        {
            var target = new Npgsql.NpgsqlConnectionStringBuilder(env.Storage.ConnectionString);
            AnsiConsole.MarkupLineInterpolated($"configured database {target.Host}:{target.Port}/{target.Database} (ConnectionStrings:Concerto); no embedded cluster.");
            await using var connection = new Npgsql.NpgsqlConnection(env.Storage.ConnectionString);
            await connection.OpenAsync(cancellationToken).ConfigureAwait(false);
            AnsiConsole.MarkupLineInterpolated($"  [green]reachable[/], PostgreSQL {connection.PostgreSqlVersion}");
            return 0;
        }

        var status = await Embedded(env).StatusAsync(cancellationToken).ConfigureAwait(false);
        AnsiConsole.MarkupLine("embedded PostgreSQL: " + (status.Running ? "[green]running[/]" : status.Initialised ? "[yellow]stopped[/]" : "not created yet"));
        AnsiConsole.MarkupLineInterpolated($"  data:  {status.DataDirectory}");
        if (status.Port is { } port) AnsiConsole.MarkupLineInterpolated($"  port:  127.0.0.1:{port}");
        return 0;
    }

    private static async Task<int> StartAsync(CancellationToken cancellationToken)
    {
        var env = new CliEnvironment();
        using var loggers = CliRun.CreateLoggers();
        await env.ConnectAsync(loggers, cancellationToken).ConfigureAwait(false);
        AnsiConsole.MarkupLine(string.IsNullOrWhiteSpace(env.Storage.ConnectionString)
            ? "[green]embedded PostgreSQL running[/], schema up to date."
            : "[green]configured database reachable[/], schema up to date.");
        return 0;
    }

    private static async Task<int> StopAsync(CancellationToken cancellationToken)
    {
        var env = new CliEnvironment();
        if (!string.IsNullOrWhiteSpace(env.Storage.ConnectionString))
        {
            AnsiConsole.MarkupLine("A connection string is configured: the server is not ours to stop.");
            return 1;
        }

        var stopped = await Embedded(env).StopAsync(cancellationToken).ConfigureAwait(false);
        AnsiConsole.MarkupLine(stopped ? "embedded PostgreSQL stopped." : "embedded PostgreSQL was not running.");
        return 0;
    }

    private static EmbeddedPostgres Embedded(CliEnvironment env) =>
        new(env.Storage.ResolveStateDirectory(), env.Storage.PostgresBinDirectory);
}
