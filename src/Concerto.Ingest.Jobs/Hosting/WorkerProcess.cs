using Concerto.Ingest.Core.Pipeline;
using Concerto.Ingest.Jobs.Stages;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Concerto.Ingest.Jobs.Hosting;

/// <summary>A worker process for a cluster sharing one database: takes jobs from the given queues until stopped
/// (Ctrl+C / SIGTERM), finishing or handing back the jobs it holds. Shared by `concerto worker` (which can add the
/// training queue) and `concerto-worker` (the ingest queues only, no libtorch).</summary>
public static class WorkerProcess
{
    /// <summary>Comma-separated queue names: the stage queues when empty; names outside the stage queues and
    /// <paramref name="extraQueues"/> are refused, naming the ones there are.</summary>
    public static IReadOnlyList<string> ParseQueues(string? text, IReadOnlyList<string> extraQueues, string extraDescription)
    {
        ArgumentNullException.ThrowIfNull(extraQueues);
        if (string.IsNullOrWhiteSpace(text)) return Stage.All;
        var queues = text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        var unknown = queues.Where(q => !Stage.All.Contains(q) && !extraQueues.Contains(q)).ToList();
        if (unknown.Count > 0)
            throw new ArgumentException($"Unknown queue(s) {string.Join(", ", unknown)}; the stage queues are {string.Join(", ", Stage.All)}{extraDescription}.");
        return queues;
    }

    /// <summary>Connects, starts the workers and waits until cancelled or the host stops.</summary>
    /// <param name="say">Where the one-line status messages go (started, stopping).</param>
    public static async Task RunAsync(PipelineEnvironment environment, IReadOnlyList<string> queues, int? workers, bool verbose,
        Action<IServiceCollection>? addServices, Action<string> say, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(environment);
        ArgumentNullException.ThrowIfNull(queues);
        ArgumentNullException.ThrowIfNull(say);
        using var loggers = LoggerFactory.Create(b => HostLogging.Configure(b, verbose));
        var connectionString = await environment.ConnectAsync(loggers, cancellationToken).ConfigureAwait(false);
        await using var pipeline = await PipelineHost.StartAsync(connectionString, environment.Settings, b => HostLogging.Configure(b, verbose),
            cancellationToken, addServices).ConfigureAwait(false);
        pipeline.StartWorkers(queues, workers ?? environment.Settings.Workers.ResolveCount(), temporary: false);
        say($"worker {StageRetry.WorkerName} working queues {string.Join(", ", queues)}; Ctrl+C to stop.");
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, pipeline.Stopping);
        try
        {
            await Task.Delay(Timeout.Infinite, stop.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            say("stopping worker...");
        }
    }
}
