using System.CommandLine;
using Concerto.Ingest.Core.Pipeline;
using Concerto.Ingest.Jobs.Hosting;
using Concerto.Ingest.Train.Jobs;
using Spectre.Console;

namespace Concerto.Ingest.Cli.Commands;

/// <summary>`concerto worker [--queues probe,decode] [--workers N]`: a worker process for a cluster sharing one
/// database. Runs until stopped (Ctrl+C / SIGTERM), finishing or handing back the jobs it holds.</summary>
public static class WorkerCommand
{
    public static Command Create()
    {
        var queues = new Option<string?>("--queues", "-q")
        {
            Description = $"Comma-separated queues to work: stage queues (default all: {string.Join(",", Stage.All)}) and '{TrainJob.Queue}' for training jobs.",
        };
        var workers = new Option<int?>("--workers") { Description = "Worker threads (default: Concerto:Workers:Count, else cores)." };
        var command = new Command("worker", "Run a worker process that takes stage jobs from the shared database (-v logs each job).") { queues, workers };
        command.SetAction((parse, ct) => CliRun.GuardAsync(() => RunAsync(parse.GetValue(queues), parse.GetValue(workers), parse.GetValue(CliOutput.Verbose), ct)));
        return command;
    }

    public static IReadOnlyList<string> ParseQueues(string? text)
    {
        if (string.IsNullOrWhiteSpace(text)) return Stage.All;
        var queues = text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        var unknown = queues.Where(q => !Stage.All.Contains(q) && q != TrainJob.Queue).ToList();
        if (unknown.Count > 0)
            throw new ArgumentException($"Unknown queue(s) {string.Join(", ", unknown)}; the stage queues are {string.Join(", ", Stage.All)}, and '{TrainJob.Queue}' takes training jobs.");
        return queues;
    }

    private static async Task<int> RunAsync(string? queueText, int? workers, bool verbose, CancellationToken cancellationToken)
    {
        var queues = ParseQueues(queueText);
        var env = new CliEnvironment();
        using var loggers = CliRun.CreateLoggers(verbose);
        var connectionString = await env.ConnectAsync(loggers, cancellationToken).ConfigureAwait(false);
        await using var pipeline = await PipelineHost.StartAsync(connectionString, env.Settings, b => CliRun.ConfigureLogging(b, verbose), cancellationToken,
            queues.Contains(TrainJob.Queue) ? s => s.AddConcertoTraining() : null).ConfigureAwait(false);
        pipeline.StartWorkers(queues, workers ?? env.Workers.ResolveCount(), temporary: false);
        AnsiConsole.MarkupLineInterpolated($"worker {Jobs.Stages.StageRetry.WorkerName} working queues {string.Join(", ", queues)}; Ctrl+C to stop.");
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, pipeline.Stopping);
        try
        {
            await Task.Delay(Timeout.Infinite, stop.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            AnsiConsole.MarkupLine("stopping worker...");
        }

        return 0;
    }
}
