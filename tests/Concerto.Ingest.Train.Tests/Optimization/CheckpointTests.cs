using Concerto.Ingest.Train.Optimization;
using TorchSharp;
using static TorchSharp.torch;

namespace Concerto.Ingest.Train.Tests.Optimization;

[Collection(DefaultGeneratorCollection.Name)]
public sealed class CheckpointTests : IDisposable
{
    private const long Total = 10;
    private readonly string _root = Path.Combine(Path.GetTempPath(), "concerto-ckpt-" + Guid.NewGuid().ToString("N"));

    public void Dispose()
    {
        if (Directory.Exists(_root)) Directory.Delete(_root, recursive: true);
    }

    /// <summary>10 updates straight equal 5 updates, a checkpoint, fresh objects (built from another seed) loaded from it,
    /// and 5 more, bit for bit, student and EMA teacher alike. The student has dropout drawn from TorchSharp's default
    /// generator, so this holds only because the checkpoint restores the CPU RNG state.</summary>
    [Fact]
    public void Resume_ContinuesBitIdentically_AfterSaveAndLoadIntoFreshObjects()
    {
        float[][] straight;
        using (var run = new Run(initSeed: 1))
        {
            for (var step = 0; step < Total; step++) run.Train(step);
            straight = run.Weights();
        }

        using (var first = new Run(initSeed: 1))
        {
            for (var step = 0; step < 5; step++) first.Train(step);
            Checkpoint.Save(_root, Metadata(5), first.Modules, first.Optimizer);
        }

        using var resumed = new Run(initSeed: 2);
        Assert.NotEqual(straight[0], resumed.Weights()[0]);
        var metadata = Checkpoint.Load(Checkpoint.Latest(_root)!, resumed.Modules, resumed.Optimizer);
        Assert.Equal(Metadata(5), metadata);
        for (var step = metadata.Step; step < Total; step++) resumed.Train(step);

        var weights = resumed.Weights();
        Assert.Equal(straight.Length, weights.Length);
        for (var i = 0; i < straight.Length; i++) Assert.Equal(straight[i], weights[i]);
    }

    /// <summary>The control: without the RNG state the dropout masks after the resume differ, and so do the weights.</summary>
    [Fact]
    public void Resume_Diverges_WhenTheRngStateIsNotRestored()
    {
        float[][] straight;
        using (var run = new Run(initSeed: 1))
        {
            for (var step = 0; step < Total; step++) run.Train(step);
            straight = run.Weights();
        }

        using (var first = new Run(initSeed: 1))
        {
            for (var step = 0; step < 5; step++) first.Train(step);
            Checkpoint.Save(_root, Metadata(5), first.Modules, first.Optimizer);
        }

        using var resumed = new Run(initSeed: 2);
        Checkpoint.Load(Checkpoint.Latest(_root)!, resumed.Modules, resumed.Optimizer, restoreRngState: false);
        for (var step = 5; step < Total; step++) resumed.Train(step);

        Assert.NotEqual(straight[0], resumed.Weights()[0]);
    }

    [Fact]
    public void RngState_RestoresTheDefaultGenerator()
    {
        manual_seed(5);
        var state = Checkpoint.GetRngState();
        using var first = rand(16);
        using var mask = nn.functional.dropout(ones(16), 0.5, training: true);
        Checkpoint.SetRngState(state);
        using var again = rand(16);
        using var maskAgain = nn.functional.dropout(ones(16), 0.5, training: true);

        Assert.Equal(first.data<float>().ToArray(), again.data<float>().ToArray());
        Assert.Equal(mask.data<float>().ToArray(), maskAgain.data<float>().ToArray());
    }

    [Fact]
    public void Save_KeepsTheNewestTwo_AndLeavesNoTemporaryFolders()
    {
        using var run = new Run(initSeed: 1);
        foreach (var step in new long[] { 1, 2, 3 }) Checkpoint.Save(_root, Metadata(step), run.Modules, run.Optimizer);
        Checkpoint.Save(_root, Metadata(3), run.Modules, run.Optimizer);   // the same step again replaces it

        Assert.Equal([2L, 3L], Checkpoint.List(_root).Select(c => c.Step));
        Assert.Equal(["step-000000000002", "step-000000000003"],
            Directory.EnumerateDirectories(_root).Select(Path.GetFileName).Order(StringComparer.Ordinal));
        var manifest = Checkpoint.ReadManifest(Checkpoint.Latest(_root)!);
        Assert.Equal(["student", "teacher"], manifest.Modules);
        Assert.True(manifest.HasOptimizer);
        Assert.Equal(Metadata(3), manifest.Run);
        Assert.True(File.Exists(Path.Combine(Checkpoint.Latest(_root)!, "teacher.weights")));
    }

    [Fact]
    public void Save_LeavesNothing_WhenCancelled()
    {
        using var run = new Run(initSeed: 1);
        using var cts = new CancellationTokenSource();
        cts.Cancel();

        Assert.Throws<OperationCanceledException>(() => Checkpoint.Save(_root, Metadata(1), run.Modules, run.Optimizer, ct: cts.Token));

        Assert.Empty(Directory.EnumerateFileSystemEntries(_root));
        Assert.Null(Checkpoint.Latest(_root));
    }

    [Fact]
    public void Load_SaysWhatIsMissing_WhenAModuleWasNotSaved()
    {
        using var run = new Run(initSeed: 1);
        var folder = Checkpoint.Save(_root, Metadata(1), new Dictionary<string, nn.Module> { ["student"] = run.Student }, null);

        var ex = Assert.Throws<InvalidDataException>(() => Checkpoint.Load(folder, run.Modules, null));
        Assert.Contains("teacher", ex.Message, StringComparison.Ordinal);
        Assert.Throws<InvalidDataException>(() => Checkpoint.Load(folder, new Dictionary<string, nn.Module> { ["student"] = run.Student }, run.Optimizer));
    }

    private static CheckpointMetadata Metadata(long step) => new(step, Total, 42, "profile-abc", "scenes", "v3");

    /// <summary>A tiny self-distillation-shaped run: a student MLP with dropout under layer-wise AdamW, and an EMA
    /// teacher. Batches come from a generator seeded by the step, as the trainer's do.</summary>
    private sealed class Run : IDisposable
    {
        public Run(int initSeed)
        {
            manual_seed(initSeed);
            Student = Mlp(0.3);
            Teacher = Mlp(0);
            using (no_grad())
            {
                foreach (var (t, s) in Teacher.parameters().Zip(Student.parameters()))
                {
                    t.copy_(s);
                    t.requires_grad = false;
                }
            }

            Modules = new Dictionary<string, nn.Module> { ["student"] = Student, ["teacher"] = Teacher };
            var groups = LayerwiseDecay.BuildGroups(Student.named_parameters(), n => n.StartsWith('0') ? 1 : 2, layers: 2);
            Optimizer = new TrainingOptimizer(groups, new OptimizerSettings(Total, MaxLearningRate: 0.05));
        }

        public nn.Module<Tensor, Tensor> Student { get; }

        public nn.Module<Tensor, Tensor> Teacher { get; }

        public Dictionary<string, nn.Module> Modules { get; }

        public TrainingOptimizer Optimizer { get; }

        public void Train(long step)
        {
            using var scope = NewDisposeScope();
            using var generator = new Generator((ulong)(1000 + step));
            var x = randn([8, 4], generator: generator);
            var y = randn([8, 2], generator: generator);
            Optimizer.ZeroGrad();
            var loss = nn.functional.mse_loss(Student.call(x), y);
            loss.backward();
            Optimizer.ClipGradients(0.5);
            Optimizer.Step(step);
            var momentum = CosineSchedule.Value(step, Total, 0.994, 1);
            using (no_grad())
            {
                foreach (var (t, s) in Teacher.parameters().Zip(Student.parameters())) t.mul_(momentum).add_(s, alpha: 1 - momentum);
            }
        }

        public float[][] Weights() => Student.parameters().Concat(Teacher.parameters()).Select(p => p.data<float>().ToArray()).ToArray();

        public void Dispose()
        {
            Optimizer.Dispose();
            Student.Dispose();
            Teacher.Dispose();
        }

        private static nn.Module<Tensor, Tensor> Mlp(double dropout) => nn.Sequential(
            ("0", nn.Linear(4, 16)), ("1", nn.ReLU()), ("2", nn.Dropout(dropout)), ("3", nn.Linear(16, 2)));
    }
}
