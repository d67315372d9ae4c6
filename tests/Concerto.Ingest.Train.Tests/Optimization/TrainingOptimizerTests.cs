using Concerto.Ingest.Train.Optimization;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Concerto.Ingest.Train.Tests.Optimization;

[Collection(DefaultGeneratorCollection.Name)]
public sealed class TrainingOptimizerTests
{
    [Fact]
    public void ApplySchedule_SetsScaledRatesAndDecay_PerGroup()
    {
        using var a = new Parameter(zeros(2, 2));
        using var b = new Parameter(zeros(2));
        LayerwiseParameterGroup[] groups = [new(1.0, true, ["a"], [a]), new(0.81, false, ["b"], [b])];
        using var optimizer = new TrainingOptimizer(groups, new OptimizerSettings(TotalSteps: 100));

        // Built at step 0: lr 0.004 / 10, weight decay at its start.
        Assert.Equal(0.0004, optimizer.LearningRate, 15);
        Assert.Equal(0.04, optimizer.WeightDecay, 15);
        Assert.Equal(0.0004, optimizer.GroupValues[0].LearningRate, 15);
        Assert.Equal(0.04, optimizer.GroupValues[0].WeightDecay, 15);
        Assert.Equal(0.0004 * 0.81, optimizer.GroupValues[1].LearningRate, 15);
        Assert.Equal(0.0, optimizer.GroupValues[1].WeightDecay);

        optimizer.ApplySchedule(4); // end of warm-up
        var wd = 0.2 - (0.08 * (1 + Math.Cos(Math.PI * 0.04)));
        Assert.Equal(0.004, optimizer.GroupValues[0].LearningRate, 15);
        Assert.Equal(0.004 * 0.81, optimizer.GroupValues[1].LearningRate, 15);
        Assert.Equal(wd, optimizer.WeightDecay, 15);
        Assert.Equal(wd, optimizer.GroupValues[0].WeightDecay, 15);
        Assert.Equal(0.0, optimizer.GroupValues[1].WeightDecay);
    }

    /// <summary>First AdamW update by hand: bias-corrected moments are g and g^2, so
    /// p1 = p0 (1 - lr wd) - lr g / (|g| + eps), with lr the group's scaled rate and wd 0 for the no-decay group.</summary>
    [Fact]
    public void Step_MatchesAHandComputedAdamWUpdate_ForBothGroups()
    {
        using var scope = NewDisposeScope();
        var a = new Parameter(tensor(new[] { 1.0, -2.0 }));
        var b = new Parameter(tensor(new[] { 3.0 }));
        LayerwiseParameterGroup[] groups = [new(1.0, true, ["a"], [a]), new(0.5, false, ["b"], [b])];
        using var optimizer = new TrainingOptimizer(groups, new OptimizerSettings(TotalSteps: 100));

        var ga = new[] { 0.5, -0.25 };
        var gb = 2.0;
        ((a * tensor(ga)).sum() + (b * gb).sum()).backward();
        optimizer.Step(0);

        const double lr = 0.0004, wd = 0.04, eps = 1e-8;
        var expectedA = new[] { 1.0, -2.0 }.Select((p, i) => (p * (1 - (lr * wd))) - (lr * ga[i] / (Math.Abs(ga[i]) + eps))).ToArray();
        var expectedB = 3.0 - (0.5 * lr * gb / (gb + eps));
        var actualA = a.data<double>().ToArray();
        Assert.Equal(expectedA[0], actualA[0], 15);
        Assert.Equal(expectedA[1], actualA[1], 15);
        Assert.Equal(expectedB, b.data<double>()[0], 15);
    }

    [Fact]
    public void ClipGradients_ReturnsTheNormBeforeClipping_AndScalesGradientsToTheLimit()
    {
        using var scope = NewDisposeScope();
        var a = new Parameter(tensor(new[] { 0.0, 0.0 }));
        using var optimizer = new TrainingOptimizer([new(1.0, true, ["a"], [a])], new OptimizerSettings(TotalSteps: 10));
        (a * tensor(new[] { 3.0, 4.0 })).sum().backward();

        var norm = optimizer.ClipGradients(1.0);

        Assert.Equal(5.0, norm, 12);
        var clipped = a.grad!.data<double>().ToArray();
        Assert.Equal(0.6, clipped[0], 5);
        Assert.Equal(0.8, clipped[1], 5);
        Assert.Equal(1.0, optimizer.ClipGradients(OptimizerSettings.ClipNorm), 5); // now 1, under 3: untouched
    }

    [Fact]
    public void ZeroGrad_DropsGradients_SoAParameterWithoutGradientIsNotUpdated()
    {
        using var scope = NewDisposeScope();
        var a = new Parameter(tensor(new[] { 1.0 }));
        var b = new Parameter(tensor(new[] { 1.0 }));
        using var optimizer = new TrainingOptimizer([new(1.0, true, ["a", "b"], [a, b])], new OptimizerSettings(TotalSteps: 10));
        (a + b).sum().backward();
        optimizer.Step(0);
        var bAfterFirst = b.data<double>()[0];

        optimizer.ZeroGrad();
        Assert.Null(b.grad);
        (a * 2).sum().backward();        // b takes no part in this step
        optimizer.Step(1);

        Assert.Equal(bAfterFirst, b.data<double>()[0]);    // no moment step and no weight decay, as PyTorch's set_to_none
        Assert.NotEqual(1.0, a.data<double>()[0]);
    }

    [Fact]
    public void Step_KeepsLiveTensorCountFlat_OverATrainingLoop()
    {
        manual_seed(3);
        using var model = nn.Sequential(("0", nn.Linear(4, 8)), ("1", nn.ReLU()), ("2", nn.Linear(8, 1)));
        var groups = LayerwiseDecay.BuildGroups(model.named_parameters(), n => n.StartsWith('0') ? 1 : 2, layers: 2);
        using var optimizer = new TrainingOptimizer(groups, new OptimizerSettings(TotalSteps: 20));
        long live = 0;
        for (var step = 0; step < 12; step++)
        {
            using (var scope = NewDisposeScope())
            {
                optimizer.ZeroGrad();
                var loss = model.call(randn(16, 4)).square().mean();
                loss.backward();
                optimizer.ClipGradients(OptimizerSettings.ClipNorm);
                optimizer.Step(step);
            }

            if (step == 2) live = DisposeScopeManager.Statistics.ThreadTotalLiveCount;
        }

        Assert.Equal(live, DisposeScopeManager.Statistics.ThreadTotalLiveCount);
    }
}
