using Concerto.Ingest.Storage.Catalog;
using Spectre.Console;

namespace Concerto.Ingest.Cli.Console;

/// <summary>Live progress of one ingest batch, read from the catalogue (so it shows work done by any worker):
/// a bar per video on a terminal, a line per state change otherwise (logs, CI).</summary>
public sealed class IngestProgressView(StatusQueries status)
{
    private static readonly TimeSpan Poll = TimeSpan.FromMilliseconds(300);

    /// <summary>Reconstructors that need no model, with what they did: the summary names each one used.</summary>
    private static readonly (string Method, string What)[] WeightsFreeMethods =
    [
        ("colmap", "COLMAP's structure from motion + our multi-view stereo on the CPU"),
        ("classic", "weights-free structure from motion + multi-view stereo on the CPU"),
    ];

    public async Task<IReadOnlyList<SourceProgress>> WatchAsync(long batchId, CancellationToken cancellationToken)
    {
        if (!AnsiConsole.Profile.Capabilities.Interactive) return await WatchPlainAsync(batchId, cancellationToken).ConfigureAwait(false);

        IReadOnlyList<SourceProgress> rows = [];
        await AnsiConsole.Progress()
            .AutoClear(false)
            .Columns(new TaskDescriptionColumn { Alignment = Justify.Left }, new ProgressBarColumn(), new PercentageColumn(), new ElapsedTimeColumn())
            .StartAsync(async ctx =>
            {
                var tasks = new Dictionary<long, ProgressTask>();
                while (true)
                {
                    rows = await status.BatchProgressAsync(batchId, cancellationToken).ConfigureAwait(false);
                    foreach (var row in rows)
                    {
                        if (!tasks.TryGetValue(row.SourceId, out var task))
                            tasks[row.SourceId] = task = ctx.AddTask(Describe(row), maxValue: 1);
                        task.Description = Describe(row);
                        task.MaxValue = Math.Max(1, row.ProgressTotal);
                        task.Value = row.IsFinished ? task.MaxValue : row.ProgressDone;
                        if (row.IsFinished) task.StopTask();
                    }

                    if (rows.All(r => r.IsFinished)) break;
                    await Task.Delay(Poll, cancellationToken).ConfigureAwait(false);
                }
            }).ConfigureAwait(false);
        return rows;
    }

    private async Task<IReadOnlyList<SourceProgress>> WatchPlainAsync(long batchId, CancellationToken cancellationToken)
    {
        var seen = new Dictionary<long, string>();
        while (true)
        {
            var rows = await status.BatchProgressAsync(batchId, cancellationToken).ConfigureAwait(false);
            foreach (var row in rows)
            {
                var line = Describe(row, markup: false);
                var state = $"{row.SourceState}/{row.ActiveStage}/{row.ActiveState}";
                if (seen.TryGetValue(row.SourceId, out var last) && last == state) continue;
                seen[row.SourceId] = state;
                AnsiConsole.Console.WriteLine(line); // stderr while stdout carries --json
            }

            if (rows.All(r => r.IsFinished)) return rows;
            await Task.Delay(Poll, cancellationToken).ConfigureAwait(false);
        }
    }

    private static string Describe(SourceProgress row, bool markup = true)
    {
        var name = Path.GetFileName(row.Path);
        var stage = row.IsFinished
            ? row.Succeeded ? $"done, {row.Keyframes} keyframes" + (row.ScenePoints is { } p ? $", {p} scene points, {row.Segments} segments" : "") : "failed"
            : row.RunId is null ? $"probe: {row.SourceState}"
            : row.ActiveState == "running" && row.ProgressTotal > 0 ? $"{row.ActiveStage} {row.ProgressDone}/{row.ProgressTotal}"
            : $"{row.ActiveStage ?? "finishing"}: {row.ActiveState ?? row.SourceState}";
        var text = $"{name} · {stage}";
        return markup ? Markup.Escape(text) : text;
    }

    public static void PrintSummary(IReadOnlyList<SourceProgress> rows)
    {
        ArgumentNullException.ThrowIfNull(rows);
        var table = new Table().Border(TableBorder.Simple)
            .AddColumns("file", "video", "run", "result", "keyframes", "reconstruction", "scene points", "segments", "time");
        foreach (var r in rows)
        {
            var result = r.Succeeded
                ? r.SourceState == "linked" ? "[green]ok[/] (already ingested)" : "[green]ok[/]"
                : "[red]failed[/]";
            var time = r.SourceState != "linked" && r.StartedAt is { } s && r.FinishedAt is { } f ? $"{(f - s).TotalSeconds:0.0} s" : "-";
            var method = r.ReconstructMethod ?? (r.ReconstructSkipped is null ? "-" : "none");
            table.AddRow(Markup.Escape(Path.GetFileName(r.Path)), r.VideoId?.ToString() ?? "-", r.RunId?.ToString() ?? "-", result,
                r.Succeeded ? r.Keyframes.ToString() : "-", method, r.ScenePoints?.ToString() ?? "-", r.ScenePoints is null ? "-" : r.Segments.ToString(), time);
        }

        AnsiConsole.Write(table);
        foreach (var r in rows.Where(r => !r.Succeeded))
            AnsiConsole.MarkupLineInterpolated($"[red]failed:[/] {r.Error ?? "unknown error"}");
        foreach (var r in rows.Where(r => r.Succeeded && r.ReconstructSkipped is not null))
            AnsiConsole.MarkupLineInterpolated($"[yellow]no scene:[/] {Path.GetFileName(r.Path)}: {r.ReconstructSkipped}");
        foreach (var (method, what) in WeightsFreeMethods.Where(m => rows.Any(r => r.ReconstructMethod == m.Method)))
            AnsiConsole.MarkupLine($"Reconstructed with [bold]{method}[/] ({what}); " +
                                   "set a VGGT model (reconstruct.modelPath or Concerto:Reconstruction:VggtModel) to use VGGT instead.");
        var ok = rows.Count(r => r.Succeeded);
        AnsiConsole.MarkupLineInterpolated($"{ok} of {rows.Count} video(s) ingested, {rows.Count - ok} failed.");
    }
}
