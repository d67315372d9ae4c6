using System.CommandLine;
using Concerto.Ingest.Benchmarks;
using Concerto.Ingest.Cli;

// `./concerto bench ...` from a checkout runs this program: the benchmarks (and what only they need: LZ4, Playwright)
// stay out of the shipped `concerto`.
if (Console.IsOutputRedirected) Spectre.Console.AnsiConsole.Profile.Width = Math.Max(Spectre.Console.AnsiConsole.Profile.Width, 160);

var bench = new Command("bench", "Benchmarks that print figures.");
foreach (var command in DecodeBenchmark.Create()) bench.Subcommands.Add(command);
foreach (var command in new[]
         {
             ReconstructBenchmark.Create(), ReconBenchmark.Create(), SegmentBenchmark.Create(), FeaturizeBenchmark.Create(),
             TrainBenchmark.Create(), PretrainBenchmark.Create(), DashboardBenchmark.Create(),
         })
    bench.Subcommands.Add(command);

var root = new RootCommand("Concerto.Ingest benchmarks (run as ./concerto bench ... from a checkout).") { CliOutput.Verbose, bench };
var parsed = root.Parse(args);
CliOutput.IsVerbose = parsed.GetValue(CliOutput.Verbose);
return await parsed.InvokeAsync().ConfigureAwait(false);
