using Concerto.Ingest.Train.Model;
using Concerto.Ingest.Train.Pretraining;
using Concerto.Ingest.Train.Profiles;
using Concerto.Ingest.Train.Tests.Optimization;
using Concerto.Ingest.Train.Tests.Views;
using Concerto.Ingest.Train.Views;
using static TorchSharp.torch;

namespace Concerto.Ingest.Train.Tests.Pretraining;

/// <summary>Issue 23: the departures from the official Sonata / Concerto training, each pinned on a hand-worked case.</summary>
[Collection(DefaultGeneratorCollection.Name)] // builds models from TorchSharp's process-wide generator
public sealed class ObjectiveFidelityTests
{
    /// <summary>Item 2: Sinkhorn-Knopp runs over a pairing's matched teacher logits of the whole effective batch. With
    /// tau = 1 and exp(logits) = (2, 1) for point A and (1, 2) for point B, K = 2: A alone normalises to (1/2, 1/2);
    /// A and B together: Q = [[2, 1], [1, 2]] / 6 already has rows summing to 1/K and columns to 1/N, so A gets
    /// (2/3, 1/3) and B (1/3, 2/3).</summary>
    [Fact]
    public void SinkhornOverBatches_NormalisesOverEveryMicroBatchTogether()
    {
        using var scope = NewDisposeScope();
        var a = tensor(new[] { Math.Log(2), 0 }, dtype: float64).view(1, 2);
        var b = tensor(new[] { 0, Math.Log(2) }, dtype: float64).view(1, 2);

        var alone = PretrainObjective.SinkhornOverBatches([a], 1.0);
        Assert.Equal([0.5, 0.5], alone[0].data<double>().ToArray(), (x, y) => Math.Abs(x - y) < 1e-12);

        var together = PretrainObjective.SinkhornOverBatches([a, b], 1.0);
        Assert.Equal(2, together.Count);
        Assert.Equal([2.0 / 3, 1.0 / 3], together[0].data<double>().ToArray(), (x, y) => Math.Abs(x - y) < 1e-12);
        Assert.Equal([1.0 / 3, 2.0 / 3], together[1].data<double>().ToArray(), (x, y) => Math.Abs(x - y) < 1e-12);
    }

    /// <summary>Items 2 and 6: matches per pairing. Student view 0 has points at x = 0 and 0.1, view 1 at x = 5 and 0;
    /// teacher view 0 has one point at x = 0, view 1 one at x = 5; match distance 0.32. Mask (view v against teacher
    /// view v): both points of view 0 match teacher point 0 (a duplicate that Sinkhorn counts twice), view 1's x = 5
    /// matches teacher point 1. Roll (against the other view): only view 1's x = 0 matches, teacher point 0. Each pair
    /// carries its student view, the group its loss is averaged over.</summary>
    [Fact]
    public void Match_PairsEachStudentViewWithItsTeacherView_AndKeepsDuplicates()
    {
        using var scope = NewDisposeScope();
        var student = tensor(new float[] { 0, 0, 0, 0.1f, 0, 0, 5, 0, 0, 0, 0, 0 }).view(4, 3);
        var teacher = tensor(new float[] { 0, 0, 0, 5, 0, 0 }).view(2, 3);

        var (s, t, v) = PretrainObjective.Match(student, [2, 4], teacher, [1, 2], view => view, 0.32);
        Assert.Equal([0L, 1, 2], s.data<long>().ToArray());
        Assert.Equal([0L, 0, 1], t.data<long>().ToArray());
        Assert.Equal([0L, 0, 1], v.data<long>().ToArray());

        (s, t, v) = PretrainObjective.Match(student, [2, 4], teacher, [1, 2], view => view ^ 1, 0.32);
        Assert.Equal([3L], s.data<long>().ToArray());
        Assert.Equal([0L], t.data<long>().ToArray());
        Assert.Equal([1L], v.data<long>().ToArray());
    }

    /// <summary>Item 3: the student's grid comes from the jittered positions. One view, grid 0.02, its teacher grid
    /// relative to the corner x = 0.01: A (0.01) and C (0.055) are unmasked, B (0.03, teacher voxel 1) is masked and
    /// jittered to 0.052, so it moves to voxel 2, beside C. In a second view a masked point jittered below the corner
    /// (to -0.01) moves the corner, and the unmasked point at 0.035 moves from voxel 1 to voxel 2 with it.</summary>
    [Fact]
    public void JitteredGrid_PutsMaskedPointsInTheVoxelsOfTheirJitteredPositions()
    {
        float[] noisy = [0.01f, 0, 0, 0.052f, 0, 0, 0.055f, 0, 0, -0.01f, 0, 0, 0.035f, 0, 0];
        var grid = PretrainBatchBuilder.JitteredGrid(noisy, [3, 5], [[0.01f, 0, 0], [0.01f, 0, 0]], 0.02);
        Assert.Equal([0, 0, 0, 2, 0, 0, 2, 0, 0, 0, 0, 0, 2, 0, 0], grid);
    }

    /// <summary>Item 3 through the batch builder: the student's global views are gridded on their jittered positions
    /// (masked points leave their teacher voxels), while the input features stay the teacher's.</summary>
    [Fact]
    public void Build_GridsTheStudentsGlobalViewsOnTheJitteredPositions()
    {
        var builder = new PretrainBatchBuilder(ViewPipelineSettings.Sonata with { Views = SonataViewSettings.Default with { MaxPoints = 4000, LocalViews = 2 } },
            crossModal: false);
        var batch = builder.Build([ViewTestData.Random(6000, 1.0f, 3), ViewTestData.Random(5000, 1.0f, 4)], new Random(5), maskSize: 0.1, maskRatio: 0.5);
        var student = batch.MaskedGlobal;
        var teacher = batch.Global;
        Assert.Same(teacher.Feat, student.Feat);
        var moved = 0;
        for (var i = 0; i < student.Count; i++)
        {
            if (!student.Mask![i]) continue;
            // Jitter is at most 0.02, one voxel, and the corner may move by as much: at most two voxels per axis.
            for (var axis = 0; axis < 3; axis++) Assert.InRange(student.Grid[3 * i + axis] - teacher.Grid[3 * i + axis], -2, 2);
            if (student.Grid[3 * i] != teacher.Grid[3 * i] || student.Grid[3 * i + 1] != teacher.Grid[3 * i + 1] || student.Grid[3 * i + 2] != teacher.Grid[3 * i + 2])
                moved++;
        }

        Assert.True(moved > 0.1 * student.Mask!.Count(m => m), $"{moved} masked points changed voxel");
    }

    /// <summary>Item 3: jittered points may share a voxel, so a pooled cluster can have more than 8 children; the max
    /// runs over all of them. Nine points in voxel (0,0,0) and one in (2,0,0): 2 clusters, the first the max of 9.</summary>
    [Fact]
    public void Pooling_TakesTheMaxOverMoreThanEightChildren()
    {
        using var scope = NewDisposeScope();
        manual_seed(3);
        using var pool = new GridPooling("pool", 4, 6, 16);
        var feat = randn(10, 4);
        var coord = zeros(10, 3);
        var grid = new int[30];
        grid[27] = 2;
        var child = PointLevel.Create(feat, coord, coord, grid, new int[10], 0.02, 16, new Random(1), CPU);
        var parent = pool.forward(child, new Random(2));

        Assert.Equal(2, parent.Count);
        var weights = pool.named_parameters().ToDictionary(p => p.name, p => p.parameter);
        var projected = feat.matmul(weights["proj.weight"].t()) + weights["proj.bias"];
        var max = projected[..9].amax(0);
        var expected = nn.functional.gelu(nn.functional.layer_norm(max, [6], weights["norm.weight"], weights["norm.bias"]));
        Assert.True(parent.Feat[0].allclose(expected, rtol: 1e-5, atol: 1e-6));
    }

    /// <summary>Item 4: Concerto uses one shared teacher head, the mask head, for mask, roll and unmask alike (the unmask
    /// head only when mask and roll are off); Sonata keeps the unmask head for unmask.</summary>
    [Fact]
    public void TeacherHead_IsSharedInConcerto_AndSeparateInSonata()
    {
        using var concerto = Model(crossModal: true, "");
        Assert.Same(concerto.Teacher.MaskHead, PretrainObjective.TeacherHead(concerto, unmaskPairing: false));
        Assert.Same(concerto.Teacher.MaskHead, PretrainObjective.TeacherHead(concerto, unmaskPairing: true));

        using var sonata = Model(crossModal: false, "");
        Assert.Same(sonata.Teacher.UnmaskHead, PretrainObjective.TeacherHead(sonata, unmaskPairing: true));

        using var unmaskOnly = Model(crossModal: true, """, "lossWeights": { "mask": 0, "roll": 0, "unmask": 0.5, "crossModal": 0.5 }""");
        Assert.Same(unmaskOnly.Teacher.UnmaskHead, PretrainObjective.TeacherHead(unmaskOnly, unmaskPairing: true));
    }

    /// <summary>Item 5: a batch without images stands in the weighted self-distillation mean. Mask 1, roll 2, unmask 4
    /// under Concerto's weights (1/8, 1/8, 2/8): (1/8 + 2/8 + 8/8) / (4/8) = 2.75, not the plain mean 7/3.</summary>
    [Fact]
    public void SelfDistillationMean_WeighsThePartsByTheirWeights()
    {
        using var scope = NewDisposeScope();
        var losses = new Dictionary<string, Tensor> { ["mask"] = tensor(1.0), ["roll"] = tensor(2.0), ["unmask"] = tensor(4.0) };
        Assert.Equal(2.75, PretrainObjective.SelfDistillationMean(ConcertoSettings.Default, losses)!.item<double>(), 12);
        Assert.Null(PretrainObjective.SelfDistillationMean(ConcertoSettings.Default, new Dictionary<string, Tensor>()));
    }

    /// <summary>The teacher pass on a real (tiny) model: every pairing's targets are distributions over the prototypes,
    /// one per matched student point, indexing the student's head level; over two micro-batches they are the split of
    /// one Sinkhorn over both, not two separate ones.</summary>
    [Fact]
    public void Teach_GivesTargetsPerPairing_NormalisedOverTheWholeStep()
    {
        using var scope = NewDisposeScope();
        using var model = Model(crossModal: false, "");
        var builder = new PretrainBatchBuilder(ConcertoTrainer.ViewSettings(model.Profile, crossModal: false), crossModal: false);
        var batches = new[] { 1, 2 }.Select(seed => builder.Build([ViewTestData.Random(3000, 1.0f, seed), ViewTestData.Random(2500, 1.0f, seed + 10)],
            new Random(seed), 0.1, 0.5)).ToArray();

        var step = PretrainObjective.Teach(model, batches, 0.04, i => new Random(100 + i), CPU);
        Assert.Equal(2, step.Count);
        foreach (var pair in step.SelectMany(t => new[] { t.Mask, t.Roll, t.Unmask }))
        {
            Assert.NotNull(pair);
            Assert.True(pair.StudentIndex.shape[0] > 0);
            Assert.Equal([pair.StudentIndex.shape[0], 32L], pair.Targets.shape);
            Assert.True(pair.Targets.sum(1).allclose(ones(pair.StudentIndex.shape[0]), atol: 1e-4));
        }

        var alone = PretrainObjective.Teach(model, [batches[0]], 0.04, i => new Random(100 + i), CPU);
        Assert.Equal(alone[0].Mask!.StudentIndex.data<long>().ToArray(), step[0].Mask!.StudentIndex.data<long>().ToArray());
        Assert.False(alone[0].Mask!.Targets.allclose(step[0].Mask!.Targets, rtol: 1e-4, atol: 1e-6));

        // sonata.sinkhornPerMicroBatch (to save memory): each micro-batch normalised alone.
        using var perMicro = Model(crossModal: false, "", """ "sinkhornPerMicroBatch": true, """);
        perMicro.load_state_dict(model.state_dict());
        var separate = PretrainObjective.Teach(perMicro, batches, 0.04, i => new Random(100 + i), CPU);
        Assert.True(alone[0].Mask!.Targets.allclose(separate[0].Mask!.Targets, rtol: 1e-5, atol: 1e-7));
    }

    /// <summary>Item 7: feature files with augmented copies, (3, 1369, D): copy 0 the plain features, copies 1 and 2
    /// those plus 100 and 200 here. The loader reads all three, and the batch builder hands the cross-modal loss an
    /// augmented copy, drawn afresh each time (both appear over a few batches), never the plain one.</summary>
    [Fact]
    public async Task Build_DrawsAnAugmentedFeatureCopy_WhenTheFeaturizeStageCachedThem()
    {
        var folder = Directory.CreateTempSubdirectory("concerto-copies-").FullName;
        try
        {
            await Synthetic.Training.SyntheticTrainingSet.WriteAsync(folder, new Synthetic.Training.SyntheticTrainingSettings
            {
                ScenesBySplit = new Dictionary<string, int[]> { ["train"] = [1] }, FeatureWidth = 4,
            }, CancellationToken.None);
            foreach (var file in Directory.EnumerateFiles(folder, "*.npy", SearchOption.AllDirectories).Where(f => f.Contains("feature", StringComparison.Ordinal)))
            {
                var (plain, shape) = Formats.Arrays.Npy.Read<Half>(file);
                Assert.True(plain.All(v => Math.Abs((float)v) < 20), "the synthetic teacher's features are small");
                var copies = plain.Concat(plain.Select(v => (Half)((float)v + 100))).Concat(plain.Select(v => (Half)((float)v + 200))).ToArray();
                Formats.Arrays.Npy.Write<Half>(file, copies, 3, shape[0], shape[1]);
            }

            var dataset = await Concerto.Ingest.Train.Data.TrainingDataset.OpenAsync(folder, CancellationToken.None);
            Assert.Equal(4, dataset.FeatureWidth);
            var sample = dataset.Load(dataset.ForSplit("train")[0]);
            Assert.All(sample.Images, i => Assert.Equal(3, i.FeatureCopies));

            var builder = new PretrainBatchBuilder(ViewPipelineSettings.Concerto with { Views = SonataViewSettings.Default with { MaxPoints = 3000, LocalViews = 1 } },
                crossModal: true);
            var seen = new HashSet<int>();
            for (var seed = 0; seed < 6; seed++)
            {
                var batch = builder.Build([sample], new Random(seed), 0.1, 0.5);
                Assert.True(batch.Images > 0);
                for (var image = 0; image < batch.Images; image++)
                {
                    var first = batch.TeacherFeatures[image * 1369 * 4];
                    Assert.True(first > 50, $"image {image}: the plain copy was used");
                    seen.Add(first > 150 ? 2 : 1);
                }
            }

            Assert.Equal([1, 2], seen.Order());
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    private static ConcertoModel Model(bool crossModal, string extraConcerto, string extraSonata = "")
    {
        var json = $$"""
            { "name": "fidelity", "version": 1, "model": { "size": "tiny", "patchSize": 64 },
              "data": { "batchSize": 2, "maxPoints": 3000, "localViews": 2 }, "sonata": { {{extraSonata}}"hidden": 64, "bottleneck": 16, "prototypes": 32 },
              "concerto": { "enabled": true{{extraConcerto}} }, "device": "cpu" }
            """;
        var (profile, _, _) = TrainingProfile.Parse(json, "test profile");
        return new ConcertoModel("concerto", profile, crossModal ? 16 : 0);
    }
}
