using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using System.Text.Json.Nodes;
using Concerto.Ingest.Cli;
using Concerto.Ingest.Cli.Commands;
using Concerto.Ingest.Core.Datasets;
using Concerto.Ingest.Features.Teacher;
using Concerto.Ingest.Features.Teacher.Import;
using Concerto.Ingest.Formats.Datasets;
using Concerto.Ingest.Reconstruction.Onnx;
using Concerto.Ingest.Synthetic.Training;
using Concerto.Ingest.Train.Data;
using Concerto.Ingest.Train.Evaluation;
using Concerto.Ingest.Train.Model;
using Concerto.Ingest.Train.Pretraining;
using Concerto.Ingest.Train.Profiles;
using Microsoft.Extensions.Logging.Abstractions;
using Spectre.Console;
using static TorchSharp.torch;

namespace Concerto.Ingest.Benchmarks;

/// <summary>`concerto bench pretrain`: the Concerto paper's linear-probing table in miniature, on held-out synthetic
/// rooms. The image teacher is a real ImageNet-pretrained network (ResNet-18's third stage, `concerto teacher import
/// resnet18`), run on the rooms' rendered images; no arm ever sees a label except the probe, which fits one Linear layer
/// on the labelled segments of a few training rooms. Rows: a randomly initialised encoder; the teacher's patch features
/// lifted to the points (2D only); Sonata (image branch off); Sonata and 2D concatenated (late fusion); Concerto (both
/// branches). Every pretrained row is repeated over the seeds; the table gives mean and spread.</summary>
public static class PretrainBenchmark
{
    private sealed record Plan(int Steps, int TrainScenes, int ProbeScenes, int HeldOutScenes, int Points, int ImageWidth, int ImageHeight,
        int ProbeEpochs, int[] Seeds);

    public static Command Create()
    {
        var quick = new Option<bool>("--quick") { Description = "The same rows from a small run (about 12 minutes on 2 cores)." };
        var steps = new Option<int?>("--steps") { Description = "Optimizer steps of each pretraining (default 150; --quick 20)." };
        var trainScenes = new Option<int?>("--train-scenes") { Description = "Synthetic rooms to pretrain on, labels unused (default 48; --quick 12)." };
        var probeScenes = new Option<int?>("--probe-scenes")
        {
            Description = "Of the training rooms, how many come with labels for fitting the probe (the data-efficient setting; default 8; --quick 4).",
        };
        var heldOut = new Option<int?>("--held-out-scenes") { Description = "Synthetic rooms the probe is measured on (default 6; --quick 3)." };
        var points = new Option<int?>("--points") { Description = "Points sampled per room for each segment, before cutting (default 60000; --quick 30000)." };
        var seeds = new Option<string>("--seeds", "--seed") { Description = "Pretraining and probe seeds, comma-separated (at least 2 for a spread).", DefaultValueFactory = _ => "1,2" };
        var profile = new Option<string>("--profile", "-p") { Description = "Training profile; its model and loss settings are used.", DefaultValueFactory = _ => "pipelines/concerto-tiny-cpu.json" };
        var epochs = new Option<int?>("--probe-epochs") { Description = "Epochs of the linear probe over its labelled segments (default 40; --quick 20)." };
        var keep = new Option<string?>("--keep") { Description = "Keep the dataset, teacher and runs in this folder (default: a temporary folder, deleted)." };
        var teacherGrid = new Option<string>("--teacher-grid")
        {
            Description = "The ResNet teacher's patch grid ROWSxCOLUMNS, 16 px per patch (default 37x37; e.g. 27x36 fills the 480 x 360 images).",
            DefaultValueFactory = _ => "37x37",
        };
        var command = new Command("pretrain", "Linear-probing table on held-out synthetic rooms: random, 2D only (real ImageNet teacher), Sonata, Sonata x 2D, Concerto.")
        {
            quick, steps, trainScenes, probeScenes, heldOut, points, seeds, profile, epochs, keep, teacherGrid,
        };
        command.SetAction((parse, ct) => CliRun.GuardAsync(() =>
        {
            var q = parse.GetValue(quick);
            var plan = new Plan(parse.GetValue(steps) ?? (q ? 20 : 150), parse.GetValue(trainScenes) ?? (q ? 12 : 48), parse.GetValue(probeScenes) ?? (q ? 4 : 8),
                parse.GetValue(heldOut) ?? (q ? 3 : 6), parse.GetValue(points) ?? (q ? 30_000 : 60_000), 480, 360, parse.GetValue(epochs) ?? (q ? 20 : 40),
                ParseSeeds(parse.GetValue(seeds)!));
            return RunAsync(plan, parse.GetValue(profile)!, parse.GetValue(keep), TeacherCommand.ParseGrid(parse.GetValue(teacherGrid)!), ct);
        }));
        return command;
    }

    private static async Task<int> RunAsync(Plan plan, string profilePath, string? keep, (int Rows, int Columns) teacherGrid, CancellationToken cancellationToken)
    {
        if (plan.Steps < 2 || plan.TrainScenes < 1 || plan.HeldOutScenes < 1 || plan.ProbeScenes < 0)
            throw new ArgumentException("--steps must be at least 2, --train-scenes and --held-out-scenes at least 1, --probe-scenes at least 0.");
        var root = keep is null ? Directory.CreateTempSubdirectory("concerto-bench-pretrain-").FullName : Path.GetFullPath(keep);
        try
        {
            var clock = Stopwatch.StartNew();
            var data = Path.Combine(root, "data");
            var summary = await SyntheticTrainingSet.WriteAsync(data, new SyntheticTrainingSettings
            {
                ScenesBySplit = new Dictionary<string, int[]>
                {
                    ["train"] = Enumerable.Range(1, plan.TrainScenes).ToArray(),
                    ["val"] = Enumerable.Range(1001, plan.HeldOutScenes).ToArray(),
                },
                PointsPerSegment = plan.Points,
                ImageWidth = plan.ImageWidth,
                ImageHeight = plan.ImageHeight,
            }, cancellationToken).ConfigureAwait(false);
            AnsiConsole.MarkupLineInterpolated(
                $"synthetic set: {summary.Segments} segments ({string.Join(", ", summary.SegmentsBySplit.Select(s => $"{s.Key} {s.Value}"))}), {summary.Points} points, images {plan.ImageWidth} x {plan.ImageHeight}, in {clock.Elapsed.TotalSeconds:0} s");
            var teacher = await FeaturizeAsync(root, data, teacherGrid, cancellationToken).ConfigureAwait(false);

            var dataset = await TrainingDataset.OpenAsync(data, cancellationToken).ConfigureAwait(false);
            var probeRows = LabelledRows(dataset, dataset.ForSplit("train"), plan.ProbeScenes);
            var val = dataset.ForSplit("val");
            var profileJson = File.ReadAllText(TrainCommand.ResolveProfile(profilePath));
            var results = new Dictionary<string, List<ProbeResult>>();
            var pretraining = new Dictionary<string, List<PretrainResult>>();
            void Add(string row, ProbeResult result)
            {
                AnsiConsole.MarkupLineInterpolated(
                    $"probe of {row}: mIoU {100 * result.MeanIoU:0.0} ({string.Join(", ", result.Classes.Select(c => $"{c.Class}: {100 * c.IoU:0}"))})");
                (results.TryGetValue(row, out var list) ? list : results[row] = []).Add(result);
            }

            var twoD = ProbeFeatures.ImageTeacher(dataset.FeatureWidth);
            foreach (var seed in plan.Seeds)
            {
                var (baseProfile, _, _) = TrainingProfile.Parse(BenchProfile(profileJson, plan.Steps, seed, crossModal: true), profilePath);
                var probe = new ProbeSettings(plan.ProbeEpochs, GridSize: baseProfile.Data.GridSize, Seed: seed);
                manual_seed(seed);
                using (var random = new PointTransformerV3("encoder", baseProfile.Encoder))
                    Add(Rows.Random, LinearProbe.Run(random, dataset, probeRows, val, probe, CPU, null, cancellationToken));
                Add(Rows.TwoD, LinearProbe.Run(twoD, dataset, probeRows, val, probe, CPU, null, cancellationToken));

                foreach (var crossModal in new[] { false, true })
                {
                    var (profile, canonical, hash) = TrainingProfile.Parse(BenchProfile(profileJson, plan.Steps, seed, crossModal), profilePath);
                    var name = crossModal ? Rows.Concerto : Rows.Sonata;
                    var output = Path.Combine(root, $"{(crossModal ? "concerto" : "sonata")}-seed{seed}");
                    PretrainResult result = null!;
                    await AnsiConsole.Progress().AutoClear(true).StartAsync(async progress =>
                    {
                        var task = progress.AddTask($"pretraining {name}, seed {seed}", maxValue: plan.Steps);
                        result = await new ConcertoTrainer().RunAsync(new PretrainRequest(data, "synthetic", profile, canonical, hash, output), [],
                            new Progress<TrainingProgress>(p => task.Value = p.Step), cancellationToken).ConfigureAwait(false);
                    }).ConfigureAwait(false);
                    if (result.CrossModal != crossModal) throw new InvalidOperationException($"{name}: the image branch is {(result.CrossModal ? "on" : "off")}, expected the opposite");
                    (pretraining.TryGetValue(name, out var runs) ? runs : pretraining[name] = []).Add(result);
                    AnsiConsole.MarkupLineInterpolated(
                        $"{name}, seed {seed}: {plan.Steps} steps in {result.Elapsed.TotalMinutes:0.0} min ({result.PointsPerSecond:0} points/s)");

                    var (model, encoder, _) = TrainedEncoder.Load(output, teacher: false); // the student, as the official downstream configs load it
                    using (model)
                    {
                        encoder.eval();
                        Add(name, LinearProbe.Run(encoder, dataset, probeRows, val, probe, CPU, null, cancellationToken));
                        if (!crossModal)
                            Add(Rows.SonataTwoD, LinearProbe.Run(ProbeFeatures.Concatenate(ProbeFeatures.Encoder(encoder, seed), twoD), dataset, probeRows, val, probe,
                                CPU, null, cancellationToken));
                    }
                }
            }

            Print(plan, results, pretraining, teacher, summary.SegmentsBySplit["train"], probeRows.Count, val.Count, clock.Elapsed);
            return 0;
        }
        finally
        {
            if (keep is null) Directory.Delete(root, recursive: true);
        }
    }

    private static class Rows
    {
        public const string Random = "random";
        public const string TwoD = "2D only";
        public const string Sonata = "Sonata";
        public const string SonataTwoD = "Sonata x 2D";
        public const string Concerto = "Concerto";
        public static readonly string[] Order = [Random, TwoD, Sonata, SonataTwoD, Concerto];

        public static string Saw(string row) => row switch
        {
            Random => "nothing (random weights); probe: labelled probe rooms",
            TwoD => "the ImageNet teacher's patch features of the segment images, lifted to the points; probe: labelled probe rooms",
            Sonata => "point clouds of all training rooms, no labels, no images; probe: labelled probe rooms",
            SonataTwoD => "the Sonata and 2D only features side by side; probe: labelled probe rooms",
            Concerto => "point clouds and images of all training rooms with the ImageNet teacher's features, no labels; probe: labelled probe rooms",
            _ => "",
        };
    }

    private static void Print(Plan plan, Dictionary<string, List<ProbeResult>> results, Dictionary<string, List<PretrainResult>> pretraining, TeacherDescription teacher,
        int trainSegments, int probeSegments, int heldOutSegments, TimeSpan total)
    {
        var classes = results.Values.SelectMany(r => r).SelectMany(r => r.Classes).Select(c => c.Class).Distinct().Order().ToArray();
        var table = new Table().Border(TableBorder.Simple).AddColumns("row", "mIoU mean", "min-max", "per seed", "pretraining", "points/s");
        var perClass = new Table().Border(TableBorder.Simple).AddColumn("IoU per class (mean over seeds)");
        foreach (var c in classes) perClass.AddColumn(c.ToString(CultureInfo.InvariantCulture));
        foreach (var row in Rows.Order.Where(results.ContainsKey))
        {
            var mious = results[row].Select(r => 100 * r.MeanIoU).ToArray();
            var runs = pretraining.GetValueOrDefault(row);
            table.AddRow(Markup.Escape(row), F(mious.Average()), $"{F(mious.Min())}-{F(mious.Max())}", string.Join(" / ", mious.Select(F)),
                runs is null ? "-" : $"{runs.Average(r => r.Elapsed.TotalMinutes):0.0} min", runs is null ? "-" : $"{runs.Average(r => r.PointsPerSecond):0}");
            perClass.AddRow([Markup.Escape(row), .. classes.Select(c => F(results[row].Average(r => 100 * (r.Classes.FirstOrDefault(x => x.Class == c)?.IoU ?? 0))))]);
        }

        AnsiConsole.Write(table);
        AnsiConsole.Write(perClass);
        AnsiConsole.MarkupLineInterpolated(
            $"held-out linear-probe mIoU (%), seeds {string.Join(", ", plan.Seeds)}; Tiny, {plan.Steps} pretraining steps on {trainSegments} segments of {plan.TrainScenes} rooms; probe: one Linear layer on frozen features, fitted on {probeSegments} segments of {plan.ProbeScenes} labelled rooms for {plan.ProbeEpochs} epochs, measured on {heldOutSegments} segments of {plan.HeldOutScenes} held-out rooms; image teacher {teacher.Name} ({teacher.Training}, {teacher.GridRows} x {teacher.GridColumns} x {teacher.Channels}); total {total.TotalMinutes:0.0} min on {Environment.ProcessorCount} cores.");
        foreach (var row in Rows.Order.Where(results.ContainsKey)) AnsiConsole.MarkupLineInterpolated($"  {row} saw: {Rows.Saw(row)}");
    }

    /// <summary>Imports the ResNet teacher into the bench folder and replaces every segment image's features with its
    /// features (the synthetic set's own are built from labels: they must never reach a self-supervised arm), recording
    /// its grid in the set's dataset.json.</summary>
    private static async Task<TeacherDescription> FeaturizeAsync(string root, string data, (int Rows, int Columns) grid, CancellationToken cancellationToken)
    {
        var clock = Stopwatch.StartNew();
        var package = ResNetTeacherImport.FindPackage()
            ?? throw new InvalidOperationException($"{ResNetTeacherImport.PackageId} {ResNetTeacherImport.PackageVersion} is not in the NuGet cache; run `dotnet restore` in the checkout.");
        var folder = Path.Combine(root, "teacher");
        var description = ResNetTeacherImport.Import(package, folder, grid.Rows, grid.Columns);
        var settings = description.Featurize(folder);
        var dataset = await TrainingDataset.OpenAsync(data, cancellationToken).ConfigureAwait(false);
        var images = new List<FeatureImage>();
        foreach (var row in dataset.Rows)
        {
            var features = row.FeatureUris ?? throw new InvalidDataException($"segment {row.SceneId} lists no feature files");
            for (var i = 0; i < row.ImageUris.Count; i++) images.Add(new FeatureImage(dataset.ResolvePath(row.ImageUris[i]), dataset.ResolvePath(features[i])));
        }

        using var model = TeacherModel.Open(settings, settings.ModelPath!, OnnxDevice.Cpu, NullLogger.Instance);
        await AnsiConsole.Progress().AutoClear(true).StartAsync(async progress =>
        {
            var task = progress.AddTask("featurizing with the ImageNet teacher", maxValue: images.Count);
            await ImageFeaturizer.RunAsync(model, images, data, new Progress<int>(n => task.Value = n), cancellationToken).ConfigureAwait(false);
        }).ConfigureAwait(false);
        DatasetVersionFile.WriteTeacherGrid(data, description.Grid, description.Name);
        AnsiConsole.MarkupLineInterpolated($"image teacher {description.Name}: {images.Count} images featurized in {clock.Elapsed.TotalSeconds:0} s");
        return description;
    }

    /// <summary>The training rows of rooms 1..<paramref name="rooms"/>: pretraining sees every room without labels, the
    /// probe fits on these few labelled ones, as in the papers' limited-annotation benchmarks.</summary>
    private static IReadOnlyList<int> LabelledRows(TrainingDataset dataset, IReadOnlyList<int> rows, int rooms) => rooms <= 0
        ? rows
        : rows.Where(r => SyntheticTrainingSet.RoomOf(dataset.Rows[r].SceneId) is { } room && room <= rooms).ToList();

    internal static int[] ParseSeeds(string text)
    {
        var seeds = text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Select(s => int.TryParse(s, CultureInfo.InvariantCulture, out var v) ? v : throw new ArgumentException($"--seeds: '{s}' is not an integer")).ToArray();
        return seeds.Length > 0 ? seeds : throw new ArgumentException("--seeds lists no seed");
    }

    private static string F(double value) => value.ToString("0.0", CultureInfo.InvariantCulture);

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
