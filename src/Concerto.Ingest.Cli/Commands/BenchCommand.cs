using System.CommandLine;
using Spectre.Console;

namespace Concerto.Ingest.Cli.Commands;

/// <summary>`concerto bench ...` in an installed program: the benchmarks are a program of their own
/// (tools/Concerto.Ingest.Benchmarks) that `./concerto bench ...` builds and runs from a source checkout, so the shipped
/// program and its images carry none of their code or packages; here the command says where they are.</summary>
public static class BenchCommand
{
    public static Command Create()
    {
        var rest = new Argument<string[]>("arguments") { Arity = ArgumentArity.ZeroOrMore, Description = "The benchmark and its options." };
        var command = new Command("bench", "Benchmarks that print figures: run ./concerto bench ... from a source checkout.") { rest };
        command.TreatUnmatchedTokensAsErrors = false;
        command.SetAction(_ =>
        {
            CliOutput.Error.MarkupLine("[red]error:[/] the benchmarks are not part of the installed program. From a source checkout run " +
                                       "[bold]./concerto bench --help[/] (it builds tools/Concerto.Ingest.Benchmarks and runs them).");
            return 2;
        });
        return command;
    }
}
