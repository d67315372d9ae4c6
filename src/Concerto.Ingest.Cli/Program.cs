using System.CommandLine;
using Concerto.Ingest.Cli.Commands;

var root = new RootCommand("Concerto.Ingest: video corpora to 3D self-supervised training data.")
{
    IngestCommand.Create(),
    StatusCommand.Create(),
    DbCommand.Create(),
    ServeCommand.Create(),
    WorkerCommand.Create(),
    BenchCommand.Create(),
    SynthCommand.Create(),
    EvalCommand.Create(),
    DatasetCommand.Create(),
    TrainCommand.Create(),
    TrainCommand.CreateProbe(),
    TeacherCommand.Create(),
};

// Ctrl+C / SIGTERM cancel the command's token; the process then gets 30 s (not the default 2 s) to finish, so a
// worker hands its running jobs back to the queue (Hangfire's own shutdown allows 20 s) instead of dying mid-job.
var invocation = new InvocationConfiguration { ProcessTerminationTimeout = TimeSpan.FromSeconds(30) };
return await root.Parse(args).InvokeAsync(invocation).ConfigureAwait(false);
