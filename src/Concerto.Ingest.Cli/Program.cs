using System.CommandLine;
using Concerto.Ingest.Cli;
using Concerto.Ingest.Cli.Commands;

// Spectre lays tables out for 80 columns when stdout is not a terminal, wrapping cells into narrow columns; a log file
// reads better with wide lines.
if (Console.IsOutputRedirected) Spectre.Console.AnsiConsole.Profile.Width = Math.Max(Spectre.Console.AnsiConsole.Profile.Width, 160);

var root = new RootCommand("Concerto.Ingest: video corpora to 3D self-supervised training data.")
{
    CliOutput.Verbose,
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
    ExportCommand.Create(),
};

// Ctrl+C / SIGTERM cancel the command's token; the process then gets 30 s (not the default 2 s) to finish, so a
// worker hands its running jobs back to the queue (Hangfire's own shutdown allows 20 s) instead of dying mid-job.
var invocation = new InvocationConfiguration { ProcessTerminationTimeout = TimeSpan.FromSeconds(30) };
var parsed = root.Parse(args);
CliOutput.IsVerbose = parsed.GetValue(CliOutput.Verbose);
return await parsed.InvokeAsync(invocation).ConfigureAwait(false);
