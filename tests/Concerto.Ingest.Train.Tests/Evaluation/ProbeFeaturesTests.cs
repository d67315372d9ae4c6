using Concerto.Ingest.Train.Data;
using Concerto.Ingest.Train.Evaluation;
using Concerto.Ingest.Train.Tests.Views;
using static TorchSharp.torch;

namespace Concerto.Ingest.Train.Tests.Evaluation;

/// <summary>The probe's feature sources beside the encoder: the image teacher's patch features lifted to the points
/// (the "2D only" row) and concatenation (the late-fusion row).</summary>
public sealed class ProbeFeaturesTests
{
    /// <summary>A 37 x 37 image: its crop is the whole image and pixel (u, v) falls in patch (v, u). Patch k holds
    /// (k, 1). Point 0 (stored 10) is seen at (1, 0) and (2, 1): patches 1 and 39, mean (20, 1); point 1 (stored 11) at
    /// (5, 5): patch 190; point 2 is seen by no pixel: zeros. The sentinel row and a row for a point the view does not
    /// hold (stored 99) count for nothing.</summary>
    [Fact]
    public void LiftPatchFeatures_AveragesThePatchesThatSeeEachPoint_ByHand()
    {
        var feature = new Half[37 * 37 * 2];
        for (var k = 0; k < 37 * 37; k++) (feature[2 * k], feature[2 * k + 1]) = ((Half)k, (Half)1);
        float[] correspondence = [1, 0, 10, 2, 1, 10, 5, 5, 11, -1, -1, -1, 3, 3, 99];
        var sample = ViewTestData.FromCoords(new float[9], [new SampleImage(37, 37, correspondence, feature, 2)], sourceOffset: 10);

        Assert.Equal([20f, 1, 190, 1, 0, 0], ProbeFeatures.LiftPatchFeatures(sample, 2));

        using var scope = NewDisposeScope();
        var both = ProbeFeatures.Concatenate(ProbeFeatures.ImageTeacher(2), (view, _, _, device) => ones(view.Count, 1, device: device))(sample, new int[9], 0.02, CPU);
        Assert.Equal([3L, 3], both.shape);
        Assert.Equal([20f, 1, 1, 190, 1, 1, 0, 0, 1], both.data<float>().ToArray());
        Assert.Throws<InvalidDataException>(() => ProbeFeatures.LiftPatchFeatures(sample, 3));
    }
}
