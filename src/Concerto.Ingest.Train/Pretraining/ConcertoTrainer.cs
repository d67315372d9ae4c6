using Concerto.Ingest.Core.Runtime;
using System.Diagnostics;
using System.Text.Json;
using Concerto.Ingest.Train.Data;
using Concerto.Ingest.Train.Optimization;
using Concerto.Ingest.Train.Profiles;
using Concerto.Ingest.Train.Sonata;
using Concerto.Ingest.Train.Views;
using TorchSharp;
using static TorchSharp.torch;

namespace Concerto.Ingest.Train.Pretraining;

/// <summary>What to train: a dataset (a pulled folder or a manifest), a profile, and the folder the run owns
/// (checkpoints/, metrics.csv, profile.json). A folder with checkpoints is resumed from its latest one.</summary>
/// <param name="Steps">Overrides the profile's length (optimizer steps); null keeps it.</param>
/// <param name="InitFrom">An encoder in the official PT-v3m2 layout (a .pth file, <see cref="Interop.PointceptCheckpoint"/>)
/// that student and teacher start from instead of random weights; unused when the run resumes.</param>
public sealed record PretrainRequest(string Dataset, string DatasetLabel, TrainingProfile Profile, string ProfileJson, string ProfileHash,
    string OutputDir, long? Steps = null, string? InitFrom = null);

/// <summary>Where a run is, reported after every optimizer step.</summary>
public sealed record TrainingProgress(long Step, long TotalSteps, IReadOnlyDictionary<string, double> Values, TimeSpan Elapsed);

/// <summary>run.json of a run folder: what rebuilding its model needs besides the profile.</summary>
public sealed record RunInfo(string Dataset, int TeacherFeatureWidth, string ProfileHash);

/// <summary>How a run ended.</summary>
public sealed record PretrainResult(long StartStep, long Steps, long TotalSteps, string LastCheckpoint, double PointsPerSecond,
    TimeSpan LoaderWait, TimeSpan Elapsed, string? DeviceNote, bool CrossModal);

/// <summary>Concerto pretraining (shared/spec/concerto.md sections 1-3): a background loader prepares views for each
/// micro-step; each optimizer step accumulates micro-batches up to the effective batch, clips gradients, steps AdamW
/// (layer-wise lr decay, OneCycle lr, cosine weight decay) and moves the teacher by EMA with cosine momentum. Every random
/// choice derives from (seed, micro-step), so a resumed run continues exactly.</summary>
public sealed class ConcertoTrainer
{
    public const string CheckpointFolder = "checkpoints";
    public const string MetricsFile = "metrics.csv";
    public const string ProfileFile = "profile.json";
    public const string RunFile = "run.json";

    public async Task<PretrainResult> RunAsync(PretrainRequest request, IReadOnlyList<ITrainingMetricsSink> sinks, IProgress<TrainingProgress>? progress,
        CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(sinks);
        NativeHeap.LimitRetention();
        var profile = request.Profile;
        var dataset = await TrainingDataset.OpenAsync(request.Dataset, cancellationToken).ConfigureAwait(false);
        var rows = dataset.ForSplit(profile.Data.Split);
        var plan = GradientAccumulation.Plan(profile.Data.BatchSize, profile.Optimizer.EffectiveBatch ?? profile.Data.BatchSize,
            referenceLr: profile.Optimizer.LearningRate, referenceBatch: profile.Optimizer.ReferenceBatch);
        if (rows.Count < plan.MicroBatch)
            throw new InvalidOperationException($"split '{profile.Data.Split}' of {request.DatasetLabel} has {rows.Count} segments, fewer than one batch of {plan.MicroBatch}; lower data.batchSize or add data.");
        var totalSteps = request.Steps ?? profile.Schedule.Steps ?? profile.Schedule.Epochs!.Value * Math.Max(1, rows.Count / plan.EffectiveBatch);
        if (totalSteps < 2) throw new InvalidOperationException($"a run needs at least 2 optimizer steps, this one would have {totalSteps}; raise --steps or schedule.steps/epochs.");
        var crossModal = profile.Concerto.Enabled && dataset.FeatureWidth > 0;

        // A run folder with checkpoints resumes, but only the same run: checked before anything in it is written.
        var checkpoints = Path.Combine(request.OutputDir, CheckpointFolder);
        var latest = Checkpoint.Latest(checkpoints);
        if (latest is not null && Checkpoint.ReadManifest(latest).Run is var previous && (previous.ProfileHash != request.ProfileHash || previous.TotalSteps != totalSteps))
            throw new InvalidOperationException(previous.ProfileHash != request.ProfileHash
                ? $"{request.OutputDir} holds a run of another profile ({previous.ProfileHash[..12]}); resume it with that profile or choose a new --out folder."
                : $"{request.OutputDir} holds a run of {previous.TotalSteps} steps, this one asks for {totalSteps} (its schedules depend on the length); resume with --steps {previous.TotalSteps} or choose a new --out folder.");

        var device = TorchDevice.Select(profile.Device);
        Directory.CreateDirectory(request.OutputDir);
        await File.WriteAllTextAsync(Path.Combine(request.OutputDir, ProfileFile), request.ProfileJson, cancellationToken).ConfigureAwait(false);
        await File.WriteAllTextAsync(Path.Combine(request.OutputDir, RunFile), JsonSerializer.Serialize(new RunInfo(request.DatasetLabel,
            crossModal ? dataset.FeatureWidth : 0, request.ProfileHash)), cancellationToken).ConfigureAwait(false);

        manual_seed(profile.Seed); // the initial weights
        using var model = new ConcertoModel("concerto", profile, crossModal ? dataset.FeatureWidth : 0);
        model.to(device.Device);
        model.Student.Encoder.ActivationCheckpointing = profile.ActivationCheckpointing;
        var attention = AttentionType(profile.Precision, device.Device);
        model.Student.Encoder.AttentionType = attention;
        model.Teacher.Encoder.AttentionType = attention;
        var groups = LayerwiseDecay.BuildGroups(model.TrainableParameters(), model.LayerOf, model.Student.Encoder.Layers, profile.Optimizer.LayerDecay);
        var (wdStart, wdEnd) = profile.Optimizer.WeightDecayRange;
        using var optimizer = new TrainingOptimizer(groups, new OptimizerSettings(totalSteps, plan.LearningRate, profile.Optimizer.WarmupFraction,
            profile.Optimizer.DivFactor, profile.Optimizer.FinalDivFactor, wdStart, wdEnd));
        var modules = new Dictionary<string, nn.Module> { ["model"] = model };
        if (latest is null && request.InitFrom is { } initFrom)
        {
            // Both encoders start from the file, as the official fine-tuning and continued-pretraining configs load one.
            Interop.PointceptCheckpoint.Load(model.Student.Encoder, initFrom);
            Interop.PointceptCheckpoint.Load(model.Teacher.Encoder, initFrom);
        }

        var startStep = latest is null ? 0L : Checkpoint.Load(latest, modules, optimizer).Step;

        // Rows are numbered by updates done (1 for the first step); those after the checkpoint are redone.
        await using var csv = await MetricsCsvWriter.OpenAsync(Path.Combine(request.OutputDir, MetricsFile), startStep + 1, cancellationToken).ConfigureAwait(false);
        var allSinks = sinks.Prepend(csv).ToArray();
        var schedules = new SonataSchedules(totalSteps, profile.Sonata.WarmupFraction, profile.Sonata);
        var sampler = new EpochSampler(rows, plan.MicroBatch, profile.Seed);
        var builder = new PretrainBatchBuilder(ViewSettings(profile, crossModal), crossModal);
        var accumulation = plan.AccumulationSteps;
        using var loader = new BackgroundLoader<PretrainBatch>((micro, ct) =>
        {
            var step = micro / accumulation;
            var samples = sampler.At(micro).Rows.Select(dataset.Load).ToArray();
            return builder.Build(samples, StepSeed.Random(profile.Seed, micro, StepSeed.Views), schedules.MaskSize(step), schedules.MaskRatio(step));
        }, checked((int)(startStep * accumulation)), checked((int)((totalSteps - startStep) * accumulation)), profile.Data.Workers,
            cancellationToken: cancellationToken);

        var clock = Stopwatch.StartNew();
        long points = 0;
        var lastCheckpoint = latest ?? string.Empty;
        var (completed, saved) = (startStep, startStep);
        string Save(long done, CancellationToken ct) => Checkpoint.Save(checkpoints, new CheckpointMetadata(done, totalSteps, profile.Seed, request.ProfileHash,
            request.DatasetLabel, string.Empty), modules, optimizer, profile.Schedule.KeepCheckpoints, ct);
        model.train();
        model.Teacher.eval();
        try
        {
            await TrainStepsAsync().ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (completed > saved)
        {
            Save(completed, CancellationToken.None); // Ctrl+C keeps the steps done since the last checkpoint
            throw;
        }

        return new PretrainResult(startStep, totalSteps - startStep, totalSteps, lastCheckpoint, points / Math.Max(clock.Elapsed.TotalSeconds, 1e-9),
            loader.ConsumerWaited, clock.Elapsed, device.FallbackReason, crossModal);

        async Task TrainStepsAsync()
        {
            for (var step = startStep; step < totalSteps; step++)
            {
                cancellationToken.ThrowIfCancellationRequested();
                optimizer.ZeroGrad();
                var values = new Dictionary<string, double>();
                var firstMicro = step * accumulation;
                var batches = new PretrainBatch[accumulation];
                for (var a = 0; a < accumulation; a++) batches[a] = loader.Take(cancellationToken);
                // The teacher pass of every micro-batch first: Sinkhorn-Knopp targets are normalised over the whole
                // effective batch, as over the whole (multi-GPU) batch officially. The targets live in the step's scope.
                using (var stepScope = NewDisposeScope())
                {
                    var targets = PretrainObjective.Teach(model, batches, schedules.TeacherTemperature(step),
                        a => StepSeed.Random(profile.Seed, firstMicro + a, StepSeed.Teacher), device.Device);
                    for (var a = 0; a < accumulation; a++)
                    {
                        var micro = firstMicro + a;
                        using var scope = NewDisposeScope();
                        manual_seed(StepSeed.For(profile.Seed, micro, StepSeed.Torch));
                        var loss = PretrainObjective.Compute(model, batches[a], targets[a], StepSeed.Random(profile.Seed, micro, StepSeed.Model), device.Device);
                        (loss.Total * plan.LossScale).backward();
                        foreach (var (name, value) in loss.Parts) values[name] = values.GetValueOrDefault(name) + value / accumulation;
                        points += batches[a].Points;
                    }
                }

                values["grad_norm"] = optimizer.ClipGradients(profile.Optimizer.GradientClip);
                optimizer.Step(step);
                TeacherEma.Update(model.Student, model.Teacher, schedules.Momentum(step));
                completed = step + 1;
                values["points_per_s"] = points / Math.Max(clock.Elapsed.TotalSeconds, 1e-9);
                values["loader_wait_s"] = loader.ConsumerWaited.TotalSeconds;
                values["momentum"] = schedules.Momentum(step);
                values["live_tensors"] = Tensor.TotalCount;              // native memory: flat over a healthy run
                values["resident_mb"] = Environment.WorkingSet / 1e6;
                values["managed_mb"] = GC.GetGCMemoryInfo().HeapSizeBytes / 1e6;

                var row = new TrainingMetrics(step + 1, sampler.At(checked((int)(step * accumulation))).Epoch, clock.Elapsed.TotalSeconds, optimizer.LearningRate,
                    optimizer.WeightDecay, values);
                foreach (var sink in allSinks) await sink.WriteAsync(row, CancellationToken.None).ConfigureAwait(false); // a finished step is always logged
                if (completed % profile.Schedule.CheckpointEvery == 0 || completed == totalSteps)
                {
                    lastCheckpoint = Save(completed, cancellationToken);
                    saved = completed;
                }

                progress?.Report(new TrainingProgress(completed, totalSteps, values, clock.Elapsed));
            }
        }
    }

    /// <summary>bf16 attention where asked or, by default, on CUDA devices; float32 otherwise (CPU bf16 attention is slower
    /// than float32 here).</summary>
    public static ScalarType? AttentionType(Precision precision, Device device) => precision switch
    {
        Precision.Bf16 => ScalarType.BFloat16,
        Precision.Auto when device.type == DeviceType.CUDA => ScalarType.BFloat16,
        _ => null,
    };

    /// <summary>The view pipeline of a profile: Concerto's (major view first, colour and normal drops) with the image
    /// branch, Sonata's otherwise.</summary>
    public static ViewPipelineSettings ViewSettings(TrainingProfile profile, bool crossModal)
    {
        ArgumentNullException.ThrowIfNull(profile);
        var settings = crossModal ? ViewPipelineSettings.Concerto : ViewPipelineSettings.Sonata;
        return settings with
        {
            GridSize = profile.Data.GridSize,
            MajorViewMaxPoints = profile.Data.MaxPoints,
            Views = settings.Views with { MaxPoints = profile.Data.MaxPoints, LocalViews = profile.Data.LocalViews },
        };
    }
}
