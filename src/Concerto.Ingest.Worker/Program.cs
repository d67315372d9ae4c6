using System.CommandLine;
using Concerto.Ingest.Core.Pipeline;
using Concerto.Ingest.Jobs.Hosting;
using Npgsql;

// `concerto-worker [--queues probe,decode] [--workers N] [-v]`: the ingest stages' worker (see the project file).
var queues = new Option<string?>("--queues", "-q")
{
    Description = $"Comma-separated stage queues to work (default all: {string.Join(",", Stage.All)}). Training jobs need `concerto worker`.",
};
var workers = new Option<int?>("--workers") { Description = "Worker threads (default: Concerto:Workers:Count, else cores)." };
var verbose = new Option<bool>("--verbose", "-v") { Description = "Log more (to stderr): each job's messages." };
var root = new RootCommand("Concerto.Ingest ingest worker: takes stage jobs from the shared database until stopped (Ctrl+C / SIGTERM).")
{
    queues, workers, verbose,
};
root.SetAction(async (parse, ct) =>
{
    try
    {
        var names = WorkerProcess.ParseQueues(parse.GetValue(queues), [], ". Training jobs need `concerto worker --queues train`");
        await WorkerProcess.RunAsync(new PipelineEnvironment(), names, parse.GetValue(workers), parse.GetValue(verbose), null, Console.WriteLine, ct)
            .ConfigureAwait(false);
        return 0;
    }
    catch (OperationCanceledException)
    {
        return 130;
    }
    catch (Exception e) when (e is InvalidSettingsException or ArgumentException or IOException or InvalidOperationException or NpgsqlException)
    {
        await Console.Error.WriteLineAsync("error: " + e.Message).ConfigureAwait(false);
        return 1;
    }
});

// Ctrl+C / SIGTERM cancel the token; 30 s then let the worker hand its running jobs back (Hangfire's own shutdown allows 20 s).
return await root.Parse(args).InvokeAsync(new InvocationConfiguration { ProcessTerminationTimeout = TimeSpan.FromSeconds(30) }).ConfigureAwait(false);
