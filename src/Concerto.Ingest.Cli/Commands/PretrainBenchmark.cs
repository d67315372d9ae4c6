using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using System.Text.Json.Nodes;
using Concerto.Ingest.Synthetic.Training;
using Concerto.Ingest.Train;
using Concerto.Ingest.Train.Data;
using Concerto.Ingest.Train.Evaluation;
using Concerto.Ingest.Train.Model;
using Concerto.Ingest.Train.Pretraining;
using Concerto.Ingest.Train.Profiles;
using Spectre.Console;
using static TorchSharp.torch;

namespace Concerto.Ingest.Cli.Commands;

/// <summary>`concerto bench pretrain`: pretrains Tiny on synthetic scenes for a fixed number of steps on this machine,
/// then linear-probes the frozen encoder's features for semantic segmentation on held-out synthetic scenes, beside the
/// same probe of a randomly initialised encoder and of an encoder pretrained with the image branch off (Sonata only).
/// The image teacher is the synthetic set's semantic teacher (features from each patch's class mix and colour), standing
/// in for DINOv2.</summary>
public static class PretrainBenchmark
{
    public static Command Create()
    {
        var steps = new Option<int>("--steps") { Description = "Optimizer steps of each pretraining.", DefaultValueFactory = _ => 400 };
        var trainScenes = new Option<int>("--train-scenes") { Description = "Synthetic rooms to pretrain on (their labels unused).", DefaultValueFactory = _ => 64 };
        var probeScenes = new Option<int>("--probe-scenes")
        {
            Description = "Of the training rooms, how many come with labels for fitting the probe (the data-efficient setting; 0: all).",
            DefaultValueFactory = _ => 8,
        };
        var heldOut = new Option<int>("--held-out-scenes") { Description = "Synthetic rooms the probe is measured on.", DefaultValueFactory = _ => 6 };
        var points = new Option<int>("--points") { Description = "Points sampled per room for each segment, before cutting.", DefaultValueFactory = _ => 60_000 };
        var profile = new Option<string>("--profile", "-p") { Description = "Training profile; its model and loss settings are used.", DefaultValueFactory = _ => "pipelines/concerto-tiny-cpu.json" };
        var seed = new Option<int>("--seed") { Description = "Seed of pretraining, the random encoder and the probe.", DefaultValueFactory = _ => 1 };
        var epochs = new Option<int>("--probe-epochs") { Description = "Epochs of the linear probe over its labelled segments.", DefaultValueFactory = _ => 40 };
        var keep = new Option<string?>("--keep") { Description = "Keep the dataset and runs in this folder (default: a temporary folder, deleted)." };
        var command = new Command("pretrain", "Pretrain Tiny on synthetic scenes, then linear-probe it against a random encoder and a Sonata-only encoder.")
        {
            steps, trainScenes, probeScenes, heldOut, points, profile, seed, epochs, keep,
        };
        command.SetAction((parse, ct) => CliRun.GuardAsync(() => RunAsync(parse.GetValue(steps), parse.GetValue(trainScenes), parse.GetValue(probeScenes), parse.GetValue(heldOut),
            parse.GetValue(points), parse.GetValue(profile)!, parse.GetValue(seed), parse.GetValue(epochs), parse.GetValue(keep), ct)));
        return command;
    }

    private static async Task<int> RunAsync(int steps, int trainScenes, int probeScenes, int heldOutScenes, int points, string profilePath, int seed, int probeEpochs,
        string? keep, CancellationToken cancellationToken)
    {
        if (steps < 1 || trainScenes < 1 || heldOutScenes < 1 || probeScenes < 0)
            throw new ArgumentException("--steps, --train-scenes and --held-out-scenes must be at least 1, --probe-scenes at least 0.");
        var root = keep is null ? Directory.CreateTempSubdirectory("concerto-bench-pretrain-").FullName : Path.GetFullPath(keep);
        try
        {
            var data = Path.Combine(root, "data");
            var clock = Stopwatch.StartNew();
            var summary = await SyntheticTrainingSet.WriteAsync(data, new SyntheticTrainingSettings
            {
                ScenesBySplit = new Dictionary<string, int[]>
                {
                    ["train"] = Enumerable.Range(1, trainScenes).ToArray(),
                    ["val"] = Enumerable.Range(1001, heldOutScenes).ToArray(),
                },
                PointsPerSegment = points,
            }, cancellationToken).ConfigureAwait(false);
            AnsiConsole.MarkupLineInterpolated(
                $"synthetic set: {summary.Segments} segments ({string.Join(", ", summary.SegmentsBySplit.Select(s => $"{s.Key} {s.Value}"))}), {summary.Points} points, in {clock.Elapsed.TotalSeconds:0.0} s");
            var dataset = await TrainingDataset.OpenAsync(data, cancellationToken).ConfigureAwait(false);
            var train = LabelledRows(dataset, dataset.ForSplit("train"), probeScenes);
            var val = dataset.ForSplit("val");
            var rows = new List<(string Encoder, ProbeResult Result, TimeSpan Pretraining)>();
            // The baseline first: its figure is known within a minute, before the long pretraining runs.
            manual_seed(seed);
            var profileJson = File.ReadAllText(TrainCommand.ResolveProfile(profilePath));
            var (baseProfile, _, _) = TrainingProfile.Parse(BenchProfile(profileJson, steps, seed, true), profilePath);
            var probe = new ProbeSettings(probeEpochs, GridSize: baseProfile.Data.GridSize, Seed: seed);
            using (var random = new PointTransformerV3("encoder", baseProfile.Encoder))
                rows.Add(Report("random initialisation", LinearProbe.Run(random, dataset, train, val, probe, CPU, null, cancellationToken), TimeSpan.Zero));

            foreach (var crossModal in new[] { true, false })
            {
                var json = BenchProfile(profileJson, steps, seed, crossModal);
                var (profile, canonical, hash) = TrainingProfile.Parse(json, profilePath);
                var output = Path.Combine(root, crossModal ? "concerto" : "sonata");
                var name = crossModal ? "Concerto (both branches)" : "Sonata only (image branch off)";
                PretrainResult result = null!;
                var memory = new List<(long Step, double Tensors, double ResidentMb)>();
                await AnsiConsole.Progress().AutoClear(true).StartAsync(async progress =>
                {
                    var task = progress.AddTask($"pretraining {name}", maxValue: steps);
                    result = await new ConcertoTrainer().RunAsync(new PretrainRequest(data, "synthetic", profile, canonical, hash, output), [],
                        new Progress<TrainingProgress>(p =>
                        {
                            task.Value = p.Step;
                            lock (memory) memory.Add((p.Step, p.Values["live_tensors"], p.Values["resident_mb"]));
                        }), cancellationToken).ConfigureAwait(false);
                }).ConfigureAwait(false);
                var (early, last) = (memory.OrderBy(m => m.Step).ElementAt(Math.Min(9, memory.Count - 1)), memory.MaxBy(m => m.Step));
                AnsiConsole.MarkupLineInterpolated(
                    $"{name}: {steps} steps in {result.Elapsed.TotalMinutes:0.0} min ({result.PointsPerSecond:0} points/s, loader wait {result.LoaderWait.TotalSeconds:0.0} s); step {early.Step} -> {last.Step}: live tensors {early.Tensors} -> {last.Tensors}, resident {early.ResidentMb:0} -> {last.ResidentMb:0} MB");
                // The student (what the official downstream configs load) and the EMA teacher: over a short run the
                // teacher, at momentum >= 0.994, has moved only a few percent away from the initial weights.
                foreach (var teacher in new[] { false, true })
                {
                    var (model, encoder, _) = TrainedEncoder.Load(output, teacher);
                    using (model)
                        rows.Add(Report($"{name}, {(teacher ? "EMA teacher" : "student")}", LinearProbe.Run(encoder, dataset, train, val, probe, CPU, null, cancellationToken),
                            result.Elapsed));
                }
            }

            var table = new Table().Border(TableBorder.Simple).AddColumns("encoder (Tiny, frozen)", "held-out mIoU", "accuracy", "pretraining", "probe");
            foreach (var (encoder, result, time) in rows)
                table.AddRow(encoder, (100 * result.MeanIoU).ToString("0.0", CultureInfo.InvariantCulture), (100 * result.Accuracy).ToString("0.0", CultureInfo.InvariantCulture) + "%",
                    time == TimeSpan.Zero ? "-" : $"{time.TotalMinutes:0.0} min", $"{result.Elapsed.TotalSeconds:0} s");
            AnsiConsole.Write(table);
            AnsiConsole.MarkupLineInterpolated(
                $"seed {seed}; pretraining on {summary.SegmentsBySplit["train"]} segments of {trainScenes} rooms; probe fitted on {train.Count} segments of {(probeScenes <= 0 ? trainScenes : Math.Min(probeScenes, trainScenes))} labelled rooms, measured on {val.Count} held-out segments ({rows[0].Result.EvalPoints} points); probe: {probeEpochs} epochs, CE + Lovasz, AdamW lr 0.002; total {clock.Elapsed.TotalMinutes:0.0} min on {Environment.ProcessorCount} cores.");
            return 0;
        }
        finally
        {
            if (keep is null) Directory.Delete(root, recursive: true);
        }
    }

    /// <summary>The training rows of rooms 1..<paramref name="rooms"/>: pretraining sees every room without labels, the
    /// probe fits on these few labelled ones, as in the papers' limited-annotation benchmarks.</summary>
    private static IReadOnlyList<int> LabelledRows(TrainingDataset dataset, IReadOnlyList<int> rows, int rooms) => rooms <= 0
        ? rows
        : rows.Where(r => SyntheticTrainingSet.RoomOf(dataset.Rows[r].SceneId) is { } room && room <= rooms).ToList();

    /// <summary>Prints one probe's result as soon as it is known (the table at the end repeats it).</summary>
    private static (string Encoder, ProbeResult Result, TimeSpan Pretraining) Report(string encoder, ProbeResult result, TimeSpan pretraining)
    {
        AnsiConsole.MarkupLineInterpolated(
            $"probe of {encoder}: mIoU {100 * result.MeanIoU:0.0} ({string.Join(", ", result.Classes.Select(c => $"{c.Class}: {100 * c.IoU:0}"))}), accuracy {100 * result.Accuracy:0.0}%");
        return (encoder, result, pretraining);
    }

    /// <summary>The profile with a fixed number of steps (checkpointing only at the end) and the image branch as asked.</summary>
    private static string BenchProfile(string json, int steps, int seed, bool crossModal)
    {
        var root = JsonNode.Parse(json, documentOptions: new() { CommentHandling = System.Text.Json.JsonCommentHandling.Skip, AllowTrailingCommas = true })!.AsObject();
        root["schedule"] = new JsonObject { ["steps"] = steps, ["checkpointEvery"] = steps };
        root["seed"] = seed;
        var concerto = root["concerto"] as JsonObject ?? new JsonObject();
        concerto["enabled"] = crossModal;
        root["concerto"] = concerto;
        return root.ToJsonString();
    }
}
