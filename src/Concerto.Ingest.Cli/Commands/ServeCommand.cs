using System.CommandLine;
using Concerto.Ingest.Server;
using Microsoft.Extensions.Hosting;
using Spectre.Console;

namespace Concerto.Ingest.Cli.Commands;

/// <summary>`concerto serve [--urls http://127.0.0.1:5080]`: dashboard, API and a worker in one process.</summary>
public static class ServeCommand
{
    public static Command Create()
    {
        var urls = new Option<string>("--urls") { Description = "Address(es) to listen on.", DefaultValueFactory = _ => "http://127.0.0.1:5080" };
        var workers = new Option<int?>("--workers") { Description = "Worker threads (default: Concerto:Workers:Count, else cores)." };
        var command = new Command("serve", "Serve the Hangfire dashboard (/hangfire) and the JSON API, and work every stage queue.") { urls, workers };
        command.SetAction((parse, ct) => CliRun.GuardAsync(() => RunAsync(parse.GetValue(urls)!, parse.GetValue(workers), ct)));
        return command;
    }

    private static async Task<int> RunAsync(string urls, int? workers, CancellationToken cancellationToken)
    {
        var env = new CliEnvironment();
        using var loggers = CliRun.CreateLoggers(verbose: false);
        var connectionString = await env.ConnectAsync(loggers, cancellationToken).ConfigureAwait(false);
        await using var app = ConcertoServer.Build(["--urls", urls], connectionString, env.Storage, env.Media, env.Reconstruction,
            workers ?? env.Workers.ResolveCount(), env.Features);
        AnsiConsole.MarkupLineInterpolated($"dashboard: {urls.Split(';')[0].TrimEnd('/')}/hangfire");
        await app.StartAsync(cancellationToken).ConfigureAwait(false);
        await app.WaitForShutdownAsync(cancellationToken).ConfigureAwait(false);
        return 0;
    }
}
