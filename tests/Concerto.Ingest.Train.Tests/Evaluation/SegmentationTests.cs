using Concerto.Ingest.Train.Evaluation;
using static TorchSharp.torch;

namespace Concerto.Ingest.Train.Tests.Evaluation;

public sealed class SegmentationTests
{
    [Fact]
    public void LovaszSoftmax_MatchesAHandWorkedCase()
    {
        using var scope = NewDisposeScope();
        var probabilities = tensor(new float[] { 0.8f, 0.2f, 0.4f, 0.6f, 0.3f, 0.7f }).view(3, 2);
        var labels = tensor(new long[] { 0, 0, 1 });
        // Class 0: errors sorted (0.6, 0.3, 0.2), foreground (1, 0, 1), Jaccard (1/2, 2/3, 1) -> gradient (1/2, 1/6, 1/3): 0.41667.
        // Class 1: errors sorted (0.6, 0.3, 0.2), foreground (0, 1, 0), Jaccard (1/2, 1, 1) -> gradient (1/2, 1/2, 0): 0.45.
        Assert.Equal((0.3 + 0.05 + 0.2 / 3 + 0.45) / 2, SegmentationLosses.LovaszSoftmax(probabilities, labels).item<float>(), 5);

        // A perfect prediction costs nothing.
        var perfect = tensor(new float[] { 1, 0, 1, 0, 0, 1 }).view(3, 2);
        Assert.Equal(0, SegmentationLosses.LovaszSoftmax(perfect, labels).item<float>(), 6);
    }

    [Fact]
    public void Metrics_CountIoUPerPresentClass_AndIgnoreUnlabelledPoints()
    {
        var metrics = new SegmentationMetrics(3);
        metrics.Add([0, 0, 1, 1, -1], [0, 1, 1, 1, 0]);
        var classes = metrics.PerClass();
        Assert.Equal([0, 1], classes.Select(c => c.Class));            // class 2 never occurs in the labels
        Assert.Equal(0.5, classes[0].IoU, 12);                           // tp 1, fn 1
        Assert.Equal(2.0 / 3, classes[1].IoU, 12);                       // tp 2, fp 1
        Assert.Equal((0.5 + 2.0 / 3) / 2, metrics.MeanIoU(), 12);
        Assert.Equal(0.75, metrics.Accuracy(), 12);
        Assert.Equal(4, metrics.Points);
    }
}
