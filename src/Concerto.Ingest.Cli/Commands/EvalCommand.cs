using System.CommandLine;
using Concerto.Ingest.Core.Geometry;
using Concerto.Ingest.Formats.PointClouds;
using Concerto.Ingest.Reconstruction.Evaluation;
using Concerto.Ingest.Storage.Artifacts;
using Concerto.Ingest.Storage.Catalog;
using Npgsql;
using Spectre.Console;

namespace Concerto.Ingest.Cli.Commands;

/// <summary>`concerto eval recon RUN [--max-distance 0.1]`: a run's reconstruction figures, and against ground truth when
/// its video came with a capture folder holding one (synthetic scenes): camera position error and Chamfer distance after
/// Sim(3) alignment.</summary>
public static class EvalCommand
{
    public static Command Create()
    {
        var run = new Argument<long>("run") { Description = "Run id (see `concerto status`)." };
        var maxDistance = new Option<double>("--max-distance") { Description = "Chamfer truncation, in the ground truth's units.", DefaultValueFactory = _ => 0.1 };
        var json = CliOutput.JsonOption();
        var recon = new Command("recon", "Evaluate a run's reconstruction.") { run, maxDistance, json };
        recon.SetAction((parse, ct) => CliRun.GuardAsync(() => ReconAsync(parse.GetValue(run), parse.GetValue(maxDistance), parse.GetValue(json), ct)));
        return new Command("eval", "Evaluate pipeline outputs.") { recon };
    }

    private static async Task<int> ReconAsync(long runId, double maxDistance, bool json, CancellationToken cancellationToken)
    {
        if (json) CliOutput.DataToStdout();
        var env = new CliEnvironment();
        using var loggers = CliRun.CreateLoggers();
        var connectionString = await env.ConnectAsync(loggers, cancellationToken).ConfigureAwait(false);
        await using var db = NpgsqlDataSource.Create(connectionString);
        var paths = await new IngestCatalog(db).GetRunPathsAsync(runId, cancellationToken).ConfigureAwait(false);
        // Ground truth sits beside a capture's video; any of the names the video was ingested under may have it.
        var videoPath = paths.FirstOrDefault(p => GroundTruthEvaluation.HasGroundTruth(Path.GetDirectoryName(p)!)) ?? paths[0];
        var stored = await new ReconstructionIndex(db).GetAsync(runId, cancellationToken).ConfigureAwait(false);
        if (stored is not { } found)
        {
            AnsiConsole.MarkupLineInterpolated($"[yellow]Run {runId} has no reconstruction[/] ({videoPath}); `concerto status` shows its reconstruct stage and why.");
            return 1;
        }

        var (scene, cameras) = found;
        var result = new Dictionary<string, object?>
        {
            ["run"] = runId, ["video"] = videoPath, ["method"] = scene.Method, ["modelHash"] = scene.ModelHash, ["points"] = scene.Points,
            ["cameras"] = cameras.Count, ["floorFound"] = scene.FloorFound,
        };
        var table = new Table().Border(TableBorder.Simple).AddColumns("measure", "value");
        table.AddRow("video", Markup.Escape(videoPath));
        table.AddRow("method", scene.Method + (scene.ModelHash is { } h ? $" (model {h[..12]})" : ""));
        table.AddRow("points / cameras", $"{scene.Points} / {cameras.Count}");
        table.AddRow("floor found", scene.FloorFound ? "yes" : "no");

        var captureFolder = Path.GetDirectoryName(videoPath)!;
        if (GroundTruthEvaluation.HasGroundTruth(captureFolder))
        {
            var store = env.OpenArtifacts();
            string folder;
            try
            {
                folder = await store.LocalPathAsync(scene.ArtifactKey, cancellationToken).ConfigureAwait(false);
            }
            finally
            {
                (store as IDisposable)?.Dispose();
            }

            var coord = PointCloudFiles.ReadCoord(folder);
            var report = GroundTruthEvaluation.Evaluate(captureFolder,
                cameras.Select(c => (c.Time, new V3(c.CameraToWorld[3], c.CameraToWorld[7], c.CameraToWorld[11]))).ToList(), coord, maxDistance);
            result["alignmentScale"] = report.Alignment.EstimatedToTruth.Scale;
            result["cameraRmsMm"] = report.Alignment.RmsPositionError * 1000;
            result["cameraMaxMm"] = report.Alignment.MaxPositionError * 1000;
            result["chamferAccuracyMm"] = report.Chamfer.Accuracy * 1000;
            result["chamferCompletenessMm"] = report.Chamfer.Completeness * 1000;
            result["chamferSymmetricMm"] = report.Chamfer.Symmetric * 1000;
            result["chamferCapMm"] = maxDistance * 1000;
            result["truthPoints"] = report.TruthPoints;
            table.AddRow("alignment scale (truth / scene)", $"{report.Alignment.EstimatedToTruth.Scale:0.0000}");
            table.AddRow("camera position error RMS / max", $"{report.Alignment.RmsPositionError * 1000:0.00} / {report.Alignment.MaxPositionError * 1000:0.00} mm");
            table.AddRow("Chamfer accuracy (scene -> truth)", $"{report.Chamfer.Accuracy * 1000:0.00} mm");
            table.AddRow("Chamfer completeness (truth -> scene)", $"{report.Chamfer.Completeness * 1000:0.00} mm (capped at {maxDistance * 1000:0} mm)");
            table.AddRow("Chamfer symmetric", $"{report.Chamfer.Symmetric * 1000:0.00} mm over {report.TruthPoints} truth points");
        }
        else
        {
            table.AddRow("ground truth", $"none beside the video (a capture.json with a pointcloud)");
        }

        if (json) CliOutput.WriteJson(result);
        else AnsiConsole.Write(table);
        return 0;
    }
}
