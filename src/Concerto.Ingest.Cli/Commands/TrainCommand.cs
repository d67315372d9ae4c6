using System.CommandLine;
using System.Globalization;
using Concerto.Ingest.Jobs.Hosting;
using Concerto.Ingest.Train.Jobs;
using Concerto.Ingest.Train;
using Concerto.Ingest.Train.Evaluation;
using Concerto.Ingest.Train.Model;
using Concerto.Ingest.Train.Data;
using Concerto.Ingest.Train.Pretraining;
using Concerto.Ingest.Train.Profiles;
using Hangfire;
using Hangfire.PostgreSql;
using Hangfire.PostgreSql.Factories;
using Spectre.Console;
using TorchSharp;

namespace Concerto.Ingest.Cli.Commands;

/// <summary>`concerto train` (Concerto pretraining on a dataset version) and `concerto probe` (linear probe of a
/// pretrained or random encoder on labelled segments).</summary>
public static class TrainCommand
{
    public const string DefaultProfile = "pipelines/concerto-tiny.json";

    public static Command Create()
    {
        var dataset = new Option<string?>("--dataset", "-d") { Description = "Dataset NAME or NAME@VERSION (pulled once into the state folder), or a pulled folder / manifest.parquet." };
        var profile = new Option<string>("--profile", "-p") { Description = "Training profile.", DefaultValueFactory = _ => DefaultProfile };
        var output = new Option<string?>("--out", "-o") { Description = "Run folder (checkpoints, metrics.csv); default state/training/<profile>-<dataset>. A folder with checkpoints resumes." };
        var steps = new Option<long?>("--steps") { Description = "Optimizer steps (overrides the profile's epochs)." };
        var queue = new Option<bool>("--queue") { Description = $"Enqueue a train job for a worker on queue '{TrainJob.Queue}' (`concerto worker --queues {TrainJob.Queue}`) instead of training here." };
        var printParams = new Option<bool>("--print-params") { Description = "Print parameter counts and estimated training memory of every size, then exit." };
        var initFrom = new Option<string?>("--init-from")
        {
            Description = "Start student and teacher from an encoder in the official PT-v3m2 layout (a .pth like the Sonata / Concerto releases or `concerto export checkpoint`); its size must match the profile's.",
        };
        var command = new Command("train", "Pretrain a PTv3 encoder with Concerto (Sonata self-distillation + 2D-3D joint embedding prediction).")
        {
            dataset, profile, output, steps, queue, printParams, initFrom,
        };
        command.SetAction((parse, ct) => CliRun.GuardAsync(() => parse.GetValue(printParams)
            ? PrintParams(parse.GetValue(profile)!)
            : TrainAsync(parse.GetValue(dataset), parse.GetValue(profile)!, parse.GetValue(output), parse.GetValue(steps), parse.GetValue(queue),
                parse.GetValue(initFrom), ct)));
        return command;
    }

    public static Command CreateProbe()
    {
        var dataset = new Option<string>("--dataset", "-d") { Description = "Labelled dataset: NAME[@VERSION], a pulled folder or a manifest.", Required = true };
        var checkpoint = new Option<string?>("--checkpoint", "-c")
        {
            Description = "Run folder of `concerto train` (its latest checkpoint), a checkpoints/step-* folder, or a .pth encoder in the official PT-v3m2 layout (released Sonata / Concerto weights, `concerto export checkpoint`).",
        };
        var random = new Option<bool>("--random") { Description = "Probe a randomly initialised encoder (a baseline) instead of a checkpoint." };
        var profile = new Option<string>("--profile", "-p") { Description = "Profile for --random (model size).", DefaultValueFactory = _ => DefaultProfile };
        var student = new Option<bool>("--student") { Description = "Probe the student encoder (the default, as the official downstream configs load it)." };
        var teacher = new Option<bool>("--teacher") { Description = "Probe the EMA teacher encoder instead of the student." };
        var trainSplit = new Option<string>("--train-split") { DefaultValueFactory = _ => "train", Description = "Split the linear head learns on." };
        var evalSplit = new Option<string>("--eval-split") { DefaultValueFactory = _ => "val", Description = "Split mIoU is measured on." };
        var epochs = new Option<int>("--epochs") { DefaultValueFactory = _ => 30, Description = "Passes of the head over the training segments." };
        var seed = new Option<int>("--seed") { DefaultValueFactory = _ => 1 };
        var command = new Command("probe", "Linear-probe a frozen encoder for semantic segmentation and report mIoU per class.")
        {
            dataset, checkpoint, random, profile, student, teacher, trainSplit, evalSplit, epochs, seed,
        };
        command.Validators.Add(result =>
        {
            if (result.GetValue(student) && result.GetValue(teacher)) result.AddError("give at most one of --student and --teacher");
        });
        command.SetAction((parse, ct) => CliRun.GuardAsync(() => ProbeAsync(parse.GetValue(dataset)!, parse.GetValue(checkpoint), parse.GetValue(random),
            parse.GetValue(profile)!, parse.GetValue(teacher), parse.GetValue(trainSplit)!, parse.GetValue(evalSplit)!,
            new ProbeSettings(parse.GetValue(epochs), Seed: parse.GetValue(seed)), ct)));
        return command;
    }

    private static Task<int> PrintParams(string profilePath)
    {
        var (profile, _, _) = TrainingProfile.Load(ResolveProfile(profilePath));
        const int dinoGiantWidth = 1536;
        var table = new Table().Border(TableBorder.Simple)
            .AddColumns("size", "encoder", "heads", "predictor", "trainable", "state", "activations", "targets", "total");
        foreach (var size in PtV3Config.Standard)
        {
            var sized = profile with { Model = profile.Model with { Size = size.Name.ToLowerInvariant() } };
            var e = TrainingMemory.Estimate(sized, dinoGiantWidth);
            var name = size.Name.Equals(profile.Model.Size, StringComparison.OrdinalIgnoreCase) ? $"[bold]{size.Name}*[/]" : size.Name;
            table.AddRow(name, Millions(e.Encoder), Millions(e.Heads), Millions(e.Predictor), Millions(e.Trainable), Gb(e.StateBytes), Gb(e.ActivationBytes), Gb(e.TargetBytes), Gb(e.TotalBytes));
        }

        AnsiConsole.Write(table);
        AnsiConsole.MarkupLineInterpolated(
            $"* the profile's size. State: fp32 weights, gradients and AdamW moments of what trains, plus the EMA teacher. Per micro-batch of {profile.Data.BatchSize} samples of up to {profile.Data.MaxPoints} points (2 global + {profile.Data.LocalViews} local views), fp32, teacher width {dinoGiantWidth} (ViT-g). Activations are an estimate; lower data.batchSize and raise optimizer.effectiveBatch to trade memory for accumulation. Targets: Sinkhorn-Knopp targets held over the effective batch (sonata.sinkhornPerMicroBatch: over one micro-batch).");
        return Task.FromResult(0);

        static string Millions(long n) => (n / 1e6).ToString("0.00", CultureInfo.InvariantCulture) + "M";
        static string Gb(long bytes) => (bytes / 1e9).ToString("0.0", CultureInfo.InvariantCulture) + " GB";
    }

    private static async Task<int> TrainAsync(string? dataset, string profilePath, string? output, long? steps, bool queue, string? initFrom,
        CancellationToken cancellationToken)
    {
        if (string.IsNullOrWhiteSpace(dataset)) throw new ArgumentException("--dataset is required (NAME[@VERSION] or a pulled folder); see `concerto dataset list`.");
        var request = new TrainRequest(dataset, ResolveProfile(profilePath), output is null ? null : Path.GetFullPath(output), steps,
            InitFrom: initFrom is null ? null : Path.GetFullPath(initFrom));
        var (trainingProfile, _, _) = TrainingProfile.Load(request.ProfilePath); // a bad profile fails before anything starts
        if (request.InitFrom is { } init)
        {
            // A wrong file fails here, naming the first mismatches, before any data is pulled.
            using var check = new PointTransformerV3("encoder", trainingProfile.Encoder);
            Concerto.Ingest.Train.Interop.PointceptCheckpoint.Load(check, init);
        }
        await using var session = await CatalogSession.OpenAsync(cancellationToken).ConfigureAwait(false);
        if (queue)
        {
            request = request with { ProfileJson = await File.ReadAllTextAsync(request.ProfilePath, cancellationToken).ConfigureAwait(false) };
            if (Directory.Exists(dataset) || File.Exists(dataset))
                AnsiConsole.MarkupLineInterpolated($"[yellow]{dataset} is a local path: the worker that takes the job must see it at the same path (or queue a catalogue dataset NAME[@VERSION]).[/]");
            var storage = new PostgreSqlStorage(new NpgsqlConnectionFactory(session.ConnectionString, PipelineServices.HangfireStorageOptions()),
                PipelineServices.HangfireStorageOptions());
            var id = new BackgroundJobClient(storage).Enqueue<TrainJob>(j => j.RunAsync(request, null, CancellationToken.None));
            AnsiConsole.MarkupLineInterpolated($"[green]enqueued train job {id}[/] on queue '{TrainJob.Queue}'; run `concerto worker --queues {TrainJob.Queue}` on the training machine.");
            return 0;
        }

        var device = TorchDevice.Select(TrainingProfile.Load(request.ProfilePath).Profile.Device);
        if (device.FallbackReason is { } reason) AnsiConsole.MarkupLineInterpolated($"[yellow]{reason}[/]");
        (long RunId, PretrainResult Result) done = default;
        await AnsiConsole.Progress().AutoClear(false).Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new RemainingTimeColumn())
            .StartAsync(async progress =>
            {
                var task = progress.AddTask("training", maxValue: 1);
                done = await session.Training.TrainAsync(request, null, new Progress<TrainingProgress>(p =>
                {
                    task.MaxValue = p.TotalSteps;
                    task.Value = p.Step;
                    task.Description = string.Create(CultureInfo.InvariantCulture,
                        $"step {p.Step}/{p.TotalSteps} loss {p.Values.GetValueOrDefault("loss"):0.000} {p.Values.GetValueOrDefault("points_per_s"):0} pts/s");
                }), cancellationToken).ConfigureAwait(false);
            }).ConfigureAwait(false);

        var r = done.Result!;
        AnsiConsole.MarkupLineInterpolated(
            $"[green]trained[/] run {done.RunId}: steps {r.StartStep}->{r.TotalSteps} in {r.Elapsed.TotalSeconds:0.0} s, {r.PointsPerSecond:0} points/s, loader wait {r.LoaderWait.TotalSeconds:0.0} s, image branch {(r.CrossModal ? "on" : "off")}; checkpoint {r.LastCheckpoint}");
        return 0;
    }

    private static async Task<int> ProbeAsync(string datasetRef, string? checkpoint, bool random, string profilePath, bool teacher, string trainSplit,
        string evalSplit, ProbeSettings settings, CancellationToken cancellationToken)
    {
        if (random == (checkpoint is not null)) throw new ArgumentException("give exactly one of --checkpoint RUN_FOLDER and --random");
        await using var session = await CatalogSession.OpenAsync(cancellationToken).ConfigureAwait(false);
        var data = await session.Training.MaterializeAsync(datasetRef, null, cancellationToken).ConfigureAwait(false);
        var dataset = await TrainingDataset.OpenAsync(data.Folder, cancellationToken).ConfigureAwait(false);

        using var source = EncoderSource.Open(checkpoint, teacher, profilePath, settings.Seed);
        settings = settings with { GridSize = source.GridSize }; // the grid the encoder was trained on, else the profile's
        var device = TorchDevice.Select("auto").Device;
        source.Encoder.to(device);
        var result = LinearProbe.Run(source.Encoder, dataset, dataset.ForSplit(trainSplit), dataset.ForSplit(evalSplit), settings, device,
            new Progress<string>(m => AnsiConsole.MarkupLineInterpolated($"[grey]{m}[/]")), cancellationToken);
        PrintProbe(source.Description, data.Label, result);
        return 0;
    }

    public static void PrintProbe(string what, string dataset, ProbeResult result)
    {
        ArgumentNullException.ThrowIfNull(result);
        var table = new Table().Border(TableBorder.Simple).AddColumns("class", "IoU", "points");
        foreach (var c in result.Classes)
            table.AddRow(c.Class.ToString(CultureInfo.InvariantCulture), (100 * c.IoU).ToString("0.0", CultureInfo.InvariantCulture),
                (c.TruePositives + c.FalseNegatives).ToString(CultureInfo.InvariantCulture));
        AnsiConsole.Write(table);
        AnsiConsole.MarkupLineInterpolated(
            $"[green]linear probe[/] of the {what} on {dataset}: mIoU {100 * result.MeanIoU:0.0}, accuracy {100 * result.Accuracy:0.0}% over {result.EvalPoints} points ({result.TrainPoints} training points, {result.Elapsed.TotalSeconds:0.0} s)");
    }

    /// <summary>The profile as given, else relative to the program folder (where pipelines/ is copied); as given when
    /// neither exists, so loading it names the missing file.</summary>
    public static string ResolveProfile(string path) => CliEnvironment.FindProfile(path) ?? path;
}
