using Concerto.Ingest.Core.Geometry;
using Concerto.Ingest.Segments.Labels;
using Concerto.Ingest.Segments.Scenes;
using Concerto.Ingest.Segments.Visibility;

namespace Concerto.Ingest.Segments.Tests.Labels;

public class LabelTransferTests
{
    /// <summary>Three points seen at pixels (0, 0), (1, 0) and (0, 1) of two 2 x 2 label images: point 0 is a labelled
    /// object (instance 7) in both, point 1 lies on a class without instances (instance -1, "none"), point 2 on an
    /// unlabelled pixel. "None" stays -1, Pointcept's ignore value, never a packed 65535.</summary>
    [Fact]
    public void Vote_KeepsNoInstanceAsMinusOne()
    {
        var intrinsics = new PinholeIntrinsics(2, 2, 1, 1, 1, 1);
        var view = new SceneView(0, 0, new RigidTransform([1, 0, 0, 0, 1, 0, 0, 0, 1], new V3(0, 0, 0)), intrinsics, "0.png");
        var seen = new ViewVisibility([0, 1, 2], [0, 1, 0], [0, 0, 1], [1, 1, 1]);
        var labels = new LabelImage(2, 2, [3, 5, -1, 5], [7, -1, -1, -1]);
        var (semantic, instance) = LabelTransfer.Vote(3, [view, view], [seen, seen], [labels, labels]);
        Assert.Equal([3, 5, -1], semantic);
        Assert.Equal([7, -1, -1], instance);
    }
}
