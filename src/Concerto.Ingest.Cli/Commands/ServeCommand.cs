using System.CommandLine;
using Concerto.Ingest.Server;
using Concerto.Ingest.Server.Access;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Spectre.Console;

namespace Concerto.Ingest.Cli.Commands;

/// <summary>`concerto serve [--urls http://127.0.0.1:5080]`: dashboard pages, JSON API, Hangfire dashboard and a worker in
/// one process. Remote access needs Concerto__Server__Token or __User/__Password (see <see cref="ServerAccessOptions"/>).</summary>
public static class ServeCommand
{
    public static Command Create()
    {
        var urls = new Option<string>("--urls") { Description = "Address(es) to listen on.", DefaultValueFactory = _ => "http://127.0.0.1:5080" };
        var workers = new Option<int?>("--workers") { Description = "Worker threads (default: Concerto:Workers:Count, else cores)." };
        var queues = new Option<string?>("--queues", "-q")
        {
            Description = "Comma-separated queues this process works beside serving (default every stage queue), e.g. the CPU stages when GPU workers take reconstruct.",
        };
        var command = new Command("serve",
            "Serve the dashboard (/), the JSON API (/api, OpenAPI at /openapi/v1.json) and the Hangfire dashboard (/hangfire), and work every stage queue (or those --queues names). " +
            "Local requests only, unless Concerto__Server__Token or Concerto__Server__User and __Password are set.") { urls, workers, queues };
        command.SetAction((parse, ct) => CliRun.GuardAsync(() => RunAsync(parse.GetValue(urls)!, parse.GetValue(workers), parse.GetValue(queues), ct)));
        return command;
    }

    private static async Task<int> RunAsync(string urls, int? workers, string? queueText, CancellationToken cancellationToken)
    {
        var queues = WorkerCommand.ParseQueues(queueText);
        var env = new CliEnvironment();
        using var loggers = CliRun.CreateLoggers();
        var connectionString = await env.ConnectAsync(loggers, cancellationToken).ConfigureAwait(false);
        await using var app = ConcertoServer.Build(["--urls", urls, "--Logging:LogLevel:Microsoft.AspNetCore=Warning"], connectionString, env.Settings,
            new ServerWork(queues, workers ?? env.Workers.ResolveCount()), env.ServerAccess);
        await app.Services.GetRequiredService<Jobs.Hosting.OrphanedStages>().RecoverAsync(cancellationToken).ConfigureAwait(false);
        var first = urls.Split(';')[0].TrimEnd('/');
        AnsiConsole.MarkupLineInterpolated($"dashboard: {first}/  (jobs: {first}/hangfire, API: {first}/openapi/v1.json); working queues {string.Join(", ", queues)}");
        var access = env.ServerAccess;
        var credentials = string.Join(" or ", new[] { access.HasToken ? "the bearer token" : null, access.HasBasic ? "basic credentials" : null }.OfType<string>());
        AnsiConsole.WriteLine(credentials.Length > 0
            ? $"remote access: with {credentials}"
            : "remote access: off (requests from other machines get 403; set Concerto__Server__Token or Concerto__Server__User and __Password)");
        await app.StartAsync(cancellationToken).ConfigureAwait(false);
        await app.WaitForShutdownAsync(cancellationToken).ConfigureAwait(false);
        return 0;
    }
}
