using System.CommandLine;
using Concerto.Ingest.Storage.Catalog;
using Npgsql;
using Spectre.Console;

namespace Concerto.Ingest.Cli.Commands;

/// <summary>`concerto status [--limit N]`: recent runs with the state of each stage, and recently rejected files.</summary>
public static class StatusCommand
{
    public static Command Create()
    {
        var limit = new Option<int>("--limit", "-n") { Description = "How many runs to show.", DefaultValueFactory = _ => 20 };
        var json = CliOutput.JsonOption();
        var command = new Command("status", "Show runs and their stages.") { limit, json };
        command.SetAction((parse, ct) => CliRun.GuardAsync(() => RunAsync(parse.GetValue(limit), parse.GetValue(json), ct)));
        return command;
    }

    private static async Task<int> RunAsync(int limit, bool json, CancellationToken cancellationToken)
    {
        if (json) CliOutput.DataToStdout();
        var env = new CliEnvironment();
        using var loggers = CliRun.CreateLoggers();
        var connectionString = await env.ConnectAsync(loggers, cancellationToken).ConfigureAwait(false);
        await using var db = NpgsqlDataSource.Create(connectionString);
        var queries = new StatusQueries(db);

        var runs = await queries.RecentRunsAsync(limit, cancellationToken).ConfigureAwait(false);
        if (json)
        {
            CliOutput.WriteJson(new { runs, rejects = await queries.RecentRejectsAsync(10, cancellationToken).ConfigureAwait(false) });
            return 0;
        }

        var table = new Table().Border(TableBorder.Simple).AddColumns("run", "video", "size", "profile", "stages", "keyframes", "updated");
        foreach (var run in runs)
        {
            var stages = string.Join("  ", run.Stages.Select(s => $"{s.Stage}: {Colour(s.State)}" +
                (s.State == "running" && s.ProgressTotal > 0 ? $" {s.ProgressDone}/{s.ProgressTotal}" : "")));
            table.AddRow(run.RunId.ToString(), Markup.Escape(Path.GetFileName(run.Path)), $"{run.Width}x{run.Height}, {run.DurationSeconds:0.0} s",
                Markup.Escape(run.ProfileName), stages, run.Keyframes.ToString(), run.UpdatedAt.ToLocalTime().ToString("yyyy-MM-dd HH:mm:ss"));
        }

        AnsiConsole.Write(table);
        foreach (var run in runs)
        foreach (var stage in run.Stages.Where(s => s.State is "failed" or "retrying" && s.Error is not null))
            AnsiConsole.MarkupLineInterpolated($"[red]run {run.RunId} {stage.Stage}:[/] {stage.Error}");

        var rejects = await queries.RecentRejectsAsync(10, cancellationToken).ConfigureAwait(false);
        if (rejects.Count > 0)
        {
            AnsiConsole.MarkupLine("Recently rejected files:");
            foreach (var r in rejects) AnsiConsole.MarkupLineInterpolated($"  [red]x[/] {r.Error}");
        }

        return 0;
    }

    private static string Colour(string state) => state switch
    {
        "succeeded" => "[green]succeeded[/]",
        "failed" => "[red]failed[/]",
        "running" => "[blue]running[/]",
        "retrying" => "[yellow]retrying[/]",
        _ => Markup.Escape(state),
    };
}
