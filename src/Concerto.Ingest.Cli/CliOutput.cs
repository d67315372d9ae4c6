using System.CommandLine;
using System.Text.Json;
using System.Text.Json.Serialization;
using Spectre.Console;

namespace Concerto.Ingest.Cli;

/// <summary>Where the program writes: data (JSON, JSONL manifests) on stdout, everything for people (messages, tables,
/// progress) on stdout unless the command writes data there, logs and errors always on stderr. The options every
/// command shares live here too.</summary>
public static class CliOutput
{
    /// <summary>`-v` / `--verbose` on every command: log at Information instead of Warning (to stderr).</summary>
    public static Option<bool> Verbose { get; } = new("--verbose", "-v") { Description = "Log more (to stderr): each stage's and job's messages.", Recursive = true };

    /// <summary>The commands with machine-readable output take `--json`.</summary>
    public static Option<bool> JsonOption() => new("--json") { Description = "Write the result as JSON on stdout (messages and progress go to stderr)." };

    /// <summary>Whether -v was given (set once the command line is parsed).</summary>
    public static bool IsVerbose { get; set; }

    /// <summary>A console on stderr, for errors and for messages while stdout carries data.</summary>
    public static IAnsiConsole Error { get; } = AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(System.Console.Error) });

    private static readonly JsonSerializerOptions Json = new()
    {
        WriteIndented = true, PropertyNamingPolicy = JsonNamingPolicy.CamelCase, DefaultIgnoreCondition = JsonIgnoreCondition.Never,
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
    };

    /// <summary>From here on stdout carries only data: messages, tables and progress go to stderr.</summary>
    public static void DataToStdout() => AnsiConsole.Console = Error;

    /// <summary>Writes <paramref name="value"/> as one JSON document on stdout.</summary>
    public static void WriteJson(object value)
    {
        System.Console.Out.WriteLine(JsonSerializer.Serialize(value, Json));
        System.Console.Out.Flush();
    }
}
