using System.CommandLine;
using Concerto.Ingest.Cli.Console;
using Concerto.Ingest.Core.Pipeline;
using Concerto.Ingest.Jobs.Hosting;
using Spectre.Console;

namespace Concerto.Ingest.Cli.Commands;

/// <summary>`concerto ingest FILE|FOLDER|LIST... [--profile P] [--detach] [--force]`.</summary>
public static class IngestCommand
{
    public static Command Create()
    {
        var inputs = new Argument<string[]>("inputs")
        {
            Description = "Video files, folders (searched recursively for videos) or list files (.txt/.list, one path per line).",
            Arity = ArgumentArity.OneOrMore,
        };
        var profile = new Option<string?>("--profile", "-p") { Description = $"Pipeline profile JSON (default {CliEnvironment.DefaultProfile})." };
        var detach = new Option<bool>("--detach") { Description = "Only enqueue the jobs for running workers (`concerto worker`/`serve`) and exit." };
        var force = new Option<bool>("--force") { Description = "Re-run stages that already succeeded for the same video and profile." };
        var workers = new Option<int?>("--workers") { Description = "Worker threads when processing in this process (default: Concerto:Workers:Count, else cores)." };
        var json = CliOutput.JsonOption();

        var command = new Command("ingest", "Ingest videos: probe, decode and sample keyframes, index them. Shows progress until done.")
        {
            inputs, profile, detach, force, workers, json,
        };
        command.SetAction((parse, ct) => CliRun.GuardAsync(() => RunAsync(
            parse.GetValue(inputs)!, parse.GetValue(profile), parse.GetValue(detach), parse.GetValue(force), parse.GetValue(workers),
            parse.GetValue(CliOutput.Verbose), parse.GetValue(json), ct)));
        return command;
    }

    private static async Task<int> RunAsync(string[] inputs, string? profilePath, bool detach, bool force, int? workers, bool verbose, bool json,
        CancellationToken cancellationToken)
    {
        if (json) CliOutput.DataToStdout();
        var env = new CliEnvironment();
        var profile = CliEnvironment.LoadProfile(profilePath);
        using var loggers = CliRun.CreateLoggers(verbose);
        var connectionString = await env.ConnectAsync(loggers, cancellationToken).ConfigureAwait(false);

        await using var pipeline = await PipelineHost.StartAsync(connectionString, env.Settings, b => CliRun.ConfigureLogging(b, verbose), cancellationToken).ConfigureAwait(false);
        var submission = await pipeline.Submitter.SubmitAsync(inputs, profile, force, cancellationToken).ConfigureAwait(false);
        AnsiConsole.MarkupLineInterpolated(
            $"Batch [bold]{submission.BatchId}[/]: {submission.Paths.Count} file(s), profile {profile.Profile.Name} v{profile.Profile.Version} ({profile.Hash[..12]})");

        if (detach)
        {
            AnsiConsole.MarkupLine("Enqueued. Workers started with `concerto worker` or `concerto serve` will process it; follow with `concerto status`.");
            if (json) CliOutput.WriteJson(new { batchId = submission.BatchId, files = submission.Paths, profile = profile.Profile.Name, profileHash = profile.Hash, detached = true });
            return 0;
        }

        var workerCount = workers ?? env.Workers.ResolveCount();
        var local = pipeline.StartWorkers(Stage.All, workerCount, temporary: true);
        if (local.Count == 0) AnsiConsole.MarkupLine("Running workers cover every stage: watching.");
        else AnsiConsole.MarkupLineInterpolated($"Processing in this process (queues: {string.Join(", ", local)}).");

        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, pipeline.Stopping);
        var coverage = KeepQueuesCoveredAsync(pipeline, workerCount, stop.Token);
        var final = await new IngestProgressView(pipeline.Status).WatchAsync(submission.BatchId, stop.Token).ConfigureAwait(false);
        await stop.CancelAsync().ConfigureAwait(false);
        await coverage.ConfigureAwait(false);
        IngestProgressView.PrintSummary(final);
        if (json)
            CliOutput.WriteJson(new
            {
                batchId = submission.BatchId, profile = profile.Profile.Name, profileHash = profile.Hash,
                succeeded = final.Count(s => s.Succeeded), failed = final.Count(s => !s.Succeeded), sources = final,
            });
        return final.All(s => s.Succeeded) ? 0 : 2;
    }

    /// <summary>While watching, takes over any stage queue whose cluster workers went away, so the batch still ends.</summary>
    private static async Task KeepQueuesCoveredAsync(PipelineHost pipeline, int workerCount, CancellationToken cancellationToken)
    {
        using var timer = new PeriodicTimer(TimeSpan.FromSeconds(15));
        try
        {
            while (await timer.WaitForNextTickAsync(cancellationToken).ConfigureAwait(false))
            {
                var taken = pipeline.StartWorkers(Stage.All, workerCount, temporary: true);
                if (taken.Count > 0)
                    AnsiConsole.MarkupLineInterpolated($"No worker serves {string.Join(", ", taken)} any more: processing it in this process.");
            }
        }
        catch (OperationCanceledException)
        {
            // batch finished or cancelled
        }
    }
}
