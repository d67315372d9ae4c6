using Concerto.Ingest.Core.Profiles;
using Concerto.Ingest.Train.CrossModal;
using TorchSharp;
using static TorchSharp.torch;

namespace Concerto.Ingest.Train.Tests.CrossModal;

public sealed class CrossModalTests
{
    [Fact]
    public void ParentSlots_AreTruncatedMeansOfTheChildrenThatSeeTheImage()
    {
        // Children 0, 1 -> parent 0; child 2 -> parent 1; child 3 -> parent 1 but sees no image.
        long[] parent = [0, 0, 1, 1];
        PatchHit[] hits = [new(0, 1, 2, 3), new(1, 1, 3, 4), new(1, 0, 36, 36), new(2, 1, 10, 0)];
        var (point, slot) = PatchSlots.OfParents(hits, parent, TeacherGrid.Dinov2);
        Assert.Equal([0L, 0, 1], point);
        // Parent 0 in image 0: only child 1, (36, 36). In image 1: mean (2.5, 3.5) truncates to (2, 3).
        Assert.Equal([36L * 37 + 36, 1369 + 2 * 37 + 3, 1369 + 10 * 37], slot);
        // On a 45 x 80 grid (Pointcept's 630 x 1120 crop) an image holds 3600 slots of 80 per row.
        hits = [new(0, 1, 2, 3), new(1, 1, 3, 4), new(1, 0, 44, 79), new(2, 1, 10, 0)];
        (_, slot) = PatchSlots.OfParents(hits, parent, new TeacherGrid(45, 80, 14));
        Assert.Equal([44L * 80 + 79, 3600 + 2 * 80 + 3, 3600 + 10 * 80], slot);
    }

    [Fact]
    public void Predict_AveragesFeaturesPerSlot_AndReadsTheTeacherAtThatSlot()
    {
        using var scope = NewDisposeScope();
        manual_seed(1);
        using var head = new CrossModalHead("head", 3, 2);
        var features = tensor(new float[] { 1, 2, 3, 5, 6, 7, 0, 0, 1 }).view(3, 3);
        var teacher = randn(2 * 1369, 2);
        var (prediction, target) = head.Predict(features, [0, 1, 2], [1400, 1400, 5], teacher);

        var weights = head.named_parameters().ToDictionary(p => p.name, p => p.parameter);
        var means = tensor(new float[] { 0, 0, 1, 3, 4, 5 }).view(2, 3); // slot 5: point 2; slot 1400: mean of points 0 and 1
        Assert.True(prediction.allclose(means.matmul(weights["predictor.weight"].t()) + weights["predictor.bias"], rtol: 1e-5, atol: 1e-6));
        Assert.True(target.allclose(stack([teacher[5], teacher[1400]]), rtol: 0, atol: 0));
    }

    [Fact]
    public void CenteredCosineLoss_IsZeroForAlignedVectors_TwentyForOpposite_AndIgnoresChannelOffsets()
    {
        using var scope = NewDisposeScope();
        var p = tensor(new float[] { 1, 2, 3, -1, 0, 4 }).view(2, 3);
        Assert.Equal(0, CrossModalHead.CenteredCosineLoss(p, p * 2 + 5).item<float>(), 5);
        Assert.Equal(20, CrossModalHead.CenteredCosineLoss(p, -p).item<float>(), 4);

        // Hand-worked: centred (-1, 0, 1) against (1, 0, -1) is cos -1; against (0.67, -1.33, 0.67) it is 0.
        var a = tensor(new float[] { 1, 2, 3, 1, 2, 3 }).view(2, 3);
        var b = tensor(new float[] { 3, 2, 1, 2, 0, 2 }).view(2, 3);
        Assert.Equal(10 * (2 + 1) / 2.0, CrossModalHead.CenteredCosineLoss(a, b).item<float>(), 4);
    }
}
