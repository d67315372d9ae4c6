using System.CommandLine;
using Concerto.Ingest.Core.Pipeline;
using Concerto.Ingest.Jobs.Hosting;
using Concerto.Ingest.Train.Jobs;
using Spectre.Console;

namespace Concerto.Ingest.Cli.Commands;

/// <summary>`concerto worker [--queues probe,decode] [--workers N]`: a worker process for a cluster sharing one
/// database (<see cref="WorkerProcess"/>), which can also take training jobs; `concerto-worker` is the same for the
/// ingest queues without libtorch.</summary>
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

    public static IReadOnlyList<string> ParseQueues(string? text) =>
        WorkerProcess.ParseQueues(text, [TrainJob.Queue], $", and '{TrainJob.Queue}' takes training jobs");

    private static async Task<int> RunAsync(string? queueText, int? workers, bool verbose, CancellationToken cancellationToken)
    {
        var queues = ParseQueues(queueText);
        var env = new CliEnvironment();
        await WorkerProcess.RunAsync(env.Pipeline, queues, workers, verbose, queues.Contains(TrainJob.Queue) ? s => s.AddConcertoTraining() : null,
            line => AnsiConsole.MarkupLineInterpolated($"{line}"), cancellationToken).ConfigureAwait(false);
        return 0;
    }
}
