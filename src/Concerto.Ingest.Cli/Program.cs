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
};
return await root.Parse(args).InvokeAsync().ConfigureAwait(false);
