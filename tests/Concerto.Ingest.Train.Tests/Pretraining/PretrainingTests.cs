using System.Globalization;
using Concerto.Ingest.Synthetic.Training;
using Concerto.Ingest.Train.Data;
using Concerto.Ingest.Train.Evaluation;
using Concerto.Ingest.Train.Optimization;
using Concerto.Ingest.Train.Pretraining;
using Concerto.Ingest.Train.Profiles;
using Concerto.Ingest.Train.Tests.Optimization;
using static TorchSharp.torch;

namespace Concerto.Ingest.Train.Tests.Pretraining;

/// <summary>Concerto pretraining end to end on a synthetic dataset in the pulled layout: a small Tiny run with both
/// branches, exact resume from a checkpoint, and a linear probe of the result.</summary>
[Collection(DefaultGeneratorCollection.Name)] // seeds TorchSharp's process-wide generator
public sealed class PretrainingTests : IAsyncLifetime
{
    private readonly DirectoryInfo _root = Directory.CreateTempSubdirectory("concerto-pretrain-");
    private string _dataset = "";

    public async Task InitializeAsync()
    {
        _dataset = Path.Combine(_root.FullName, "data");
        await SyntheticTrainingSet.WriteAsync(_dataset, new SyntheticTrainingSettings
        {
            ScenesBySplit = new Dictionary<string, int[]> { ["train"] = [1, 2], ["val"] = [101] },
            FeatureWidth = 16,
        }, CancellationToken.None);
    }

    public Task DisposeAsync()
    {
        _root.Delete(recursive: true);
        return Task.CompletedTask;
    }

    /// <summary>Profile JSON for a run small enough for a test: Tiny with 64-point windows, small heads, 2 samples per
    /// micro-batch accumulated to 4, a checkpoint every 2 steps.</summary>
    public static string SmallProfile(int steps, bool crossModal = true) => string.Create(CultureInfo.InvariantCulture, $$"""
        {
          "name": "test-tiny", "version": 1,
          "model": { "size": "tiny", "patchSize": 64 },
          "data": { "batchSize": 2, "maxPoints": 3000, "localViews": 2, "workers": 2 },
          "sonata": { "hidden": 64, "bottleneck": 16, "prototypes": 32 },
          "concerto": { "enabled": {{(crossModal ? "true" : "false")}} },
          "optimizer": { "effectiveBatch": 4 },
          "schedule": { "steps": {{steps}}, "checkpointEvery": 2 },
          "device": "cpu", "seed": 7
        }
        """);

    private async Task<PretrainResult> TrainAsync(string output, string profileJson, CancellationToken cancellationToken = default,
        IProgress<TrainingProgress>? progress = null, long? steps = null)
    {
        var (profile, canonical, hash) = TrainingProfile.Parse(profileJson, "test profile");
        return await new ConcertoTrainer().RunAsync(new PretrainRequest(_dataset, "synthetic", profile, canonical, hash, output, steps), [], progress,
            cancellationToken);
    }

    [Fact]
    public async Task Training_RunsBothBranches_LogsEveryStep_AndSavesCheckpoints()
    {
        var output = Path.Combine(_root.FullName, "run");
        var result = await TrainAsync(output, SmallProfile(steps: 4));

        Assert.True(result.CrossModal);
        Assert.Equal(4, result.TotalSteps);
        Assert.True(result.PointsPerSecond > 0);
        var lines = await File.ReadAllLinesAsync(Path.Combine(output, ConcertoTrainer.MetricsFile));
        Assert.Equal(5, lines.Length);                                    // header + 4 steps
        var header = lines[0].Split(',');
        foreach (var column in new[] { "loss", "mask", "roll", "unmask", "cross_modal", "grad_norm", "points_per_s" })
            Assert.Contains(column, header);
        foreach (var line in lines.Skip(1))
        {
            var loss = double.Parse(line.Split(',')[Array.IndexOf(header, "loss")], CultureInfo.InvariantCulture);
            Assert.True(double.IsFinite(loss) && loss > 0, line);
        }

        Assert.Equal([2L, 4], Checkpoint.List(Path.Combine(output, ConcertoTrainer.CheckpointFolder)).Select(c => c.Step));
    }

    /// <summary>Loss parts weighted zero are not computed: with only the cross-modal weight, no teacher pass, heads or
    /// local views run, the metrics have no self-distillation columns, and the loss is the cross-modal part alone.</summary>
    [Fact]
    public async Task Training_WithOnlyTheCrossModalWeight_ComputesNoSelfDistillation()
    {
        var output = Path.Combine(_root.FullName, "cross-modal-only");
        var profile = SmallProfile(steps: 3).Replace("\"concerto\": { \"enabled\": true }",
            "\"concerto\": { \"enabled\": true, \"lossWeights\": { \"mask\": 0, \"roll\": 0, \"unmask\": 0, \"crossModal\": 1 } }", StringComparison.Ordinal);
        Assert.Contains("lossWeights", profile, StringComparison.Ordinal);
        await TrainAsync(output, profile);

        var lines = await File.ReadAllLinesAsync(Path.Combine(output, ConcertoTrainer.MetricsFile));
        var header = lines[0].Split(',');
        Assert.DoesNotContain("mask", header);
        Assert.DoesNotContain("roll", header);
        Assert.DoesNotContain("unmask", header);
        foreach (var line in lines.Skip(1))
        {
            var values = line.Split(',');
            var crossModal = double.Parse(values[Array.IndexOf(header, "cross_modal")], CultureInfo.InvariantCulture);
            Assert.True(crossModal > 0, line);
            Assert.Equal(crossModal, double.Parse(values[Array.IndexOf(header, "loss")], CultureInfo.InvariantCulture), 5);
        }
    }

    /// <summary>Teachers of any patch grid: a dataset whose features lie on a 9 x 16 grid (dataset.json's teacherGrid)
    /// trains the cross-modal branch with the cross-modal part alone, finite and positive at every step.</summary>
    [Fact]
    public async Task Training_OnANonSquareTeacherGrid_PredictsThosePatches()
    {
        _dataset = Path.Combine(_root.FullName, "data-9x16");
        await SyntheticTrainingSet.WriteAsync(_dataset, new SyntheticTrainingSettings
        {
            ScenesBySplit = new Dictionary<string, int[]> { ["train"] = [3, 4] },
            SegmentsPerScene = 2,
            FeatureWidth = 16,
            FeatureGrid = new Core.Profiles.TeacherGrid(9, 16, 16),
        }, CancellationToken.None);
        var output = Path.Combine(_root.FullName, "grid-9x16");
        var profile = SmallProfile(steps: 2).Replace("\"concerto\": { \"enabled\": true }",
            "\"concerto\": { \"enabled\": true, \"lossWeights\": { \"mask\": 0, \"roll\": 0, \"unmask\": 0, \"crossModal\": 1 } }", StringComparison.Ordinal);
        await TrainAsync(output, profile);

        var lines = await File.ReadAllLinesAsync(Path.Combine(output, ConcertoTrainer.MetricsFile));
        var header = lines[0].Split(',');
        Assert.Equal(3, lines.Length);
        foreach (var line in lines.Skip(1))
        {
            var crossModal = double.Parse(line.Split(',')[Array.IndexOf(header, "cross_modal")], CultureInfo.InvariantCulture);
            Assert.True(double.IsFinite(crossModal) && crossModal > 0, line);
        }
    }

    /// <summary>A run stopped (as by Ctrl+C) after step 3, between its checkpoints, saves that step, and resumed from it
    /// ends with the same weights, bit for bit, as a run that never stopped (every random choice derives from seed and
    /// step; optimizer state is checkpointed). A different length is refused rather than resumed.</summary>
    [Fact]
    public async Task ResumedRun_EndsBitIdenticalToAnUninterruptedOne()
    {
        var straight = Path.Combine(_root.FullName, "straight");
        var resumed = Path.Combine(_root.FullName, "resumed");
        var profile = SmallProfile(steps: 4);
        await TrainAsync(straight, profile);

        using (var stop = new CancellationTokenSource())
        {
            var progress = new SynchronousProgress(p => { if (p.Step == 3) stop.Cancel(); });
            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => TrainAsync(resumed, profile, stop.Token, progress));
        }

        Assert.Equal([2L, 3], Checkpoint.List(Path.Combine(resumed, ConcertoTrainer.CheckpointFolder)).Select(c => c.Step));
        var longer = await Assert.ThrowsAsync<InvalidOperationException>(() => TrainAsync(resumed, profile, steps: 6));
        Assert.Contains("holds a run of 4 steps", longer.Message, StringComparison.Ordinal);
        var result = await TrainAsync(resumed, profile);
        Assert.Equal(3, result.StartStep);

        var (a, _, stepA) = TrainedEncoder.Load(straight);
        var (b, _, stepB) = TrainedEncoder.Load(resumed);
        using (a)
        using (b)
        {
            Assert.Equal(4, stepA);
            Assert.Equal(4, stepB);
            var weightsB = b.named_parameters().ToDictionary(p => p.name, p => p.parameter);
            Assert.All(a.named_parameters(), p => Assert.True(p.parameter.eq(weightsB[p.name]).all().item<bool>(), p.name));
        }

        // The metrics file holds each step once.
        var steps = (await File.ReadAllLinesAsync(Path.Combine(resumed, ConcertoTrainer.MetricsFile))).Skip(1).Select(l => l.Split(',')[0]);
        Assert.Equal(["1", "2", "3", "4"], steps);
    }

    /// <summary>No native memory leak: after warm-up the number of live tensors is the same at every step.</summary>
    [Fact]
    public async Task LiveTensors_StayFlatAcrossSteps()
    {
        var output = Path.Combine(_root.FullName, "leak");
        var live = new List<double>();
        await TrainAsync(output, SmallProfile(steps: 16).Replace("\"checkpointEvery\": 2", "\"checkpointEvery\": 100", StringComparison.Ordinal),
            progress: new SynchronousProgress(p => live.Add(p.Values["live_tensors"])));
        Assert.Equal(16, live.Count);
        Assert.All(live.Skip(4), count => Assert.Equal(live[4], count));
    }

    [Fact]
    public async Task LinearProbe_OfATrainedEncoder_ReportsIoUForTheHeldOutClasses()
    {
        var output = Path.Combine(_root.FullName, "probe-run");
        await TrainAsync(output, SmallProfile(steps: 2, crossModal: false));
        var (model, encoder, _) = TrainedEncoder.Load(output);
        using (model)
        {
            var dataset = await TrainingDataset.OpenAsync(_dataset, CancellationToken.None);
            var result = LinearProbe.Run(encoder, dataset, dataset.ForSplit("train"), dataset.ForSplit("val"), new ProbeSettings(Epochs: 3), CPU);
            Assert.InRange(result.MeanIoU, 0, 1);
            Assert.True(result.Classes.Count >= 3);
            Assert.True(result.EvalPoints > 1000);
            Assert.Equal(result.EvalPoints, result.Classes.Sum(c => c.TruePositives + c.FalseNegatives));
        }
    }

    private sealed class SynchronousProgress(Action<TrainingProgress> report) : IProgress<TrainingProgress>
    {
        public void Report(TrainingProgress value) => report(value);
    }
}
