using Concerto.Ingest.Core.Geometry;
using Concerto.Ingest.Reconstruction.Alignment;
using static Concerto.Ingest.Reconstruction.Tests.Alignment.RandomGeometry;

namespace Concerto.Ingest.Reconstruction.Tests.Alignment;

public class Sim3Tests
{
    [Fact]
    public void Apply_ScalesRotatesThenTranslates_ForHandComputedCase()
    {
        // 90 degrees about z: (1, 0, 0) -> (0, 1, 0); times 2, plus (1, 2, 3).
        var t = new Sim3(2, new Mat3(0, -1, 0, 1, 0, 0, 0, 0, 1), new V3(1, 2, 3));
        Assert.Equal(new V3(1, 4, 3), t.Apply(new V3(1, 0, 0)));
    }

    [Fact]
    public void Compose_MatchesSequentialApply_AndInverseUndoes_ForRandomTransforms()
    {
        var rng = new Random(11);
        for (var trial = 0; trial < 20; trial++)
        {
            Sim3 a = Similarity(rng), b = Similarity(rng);
            var p = InCube(rng, 2);
            Assert.True((a.Compose(b).Apply(p) - a.Apply(b.Apply(p))).Length < 1e-12);
            Assert.True((a.Inverse().Apply(a.Apply(p)) - p).Length < 1e-12);
            var id = a.Compose(a.Inverse());
            Assert.Equal(1, id.Scale, 12);
            Assert.True(MaxAbsDiff(id.Rotation, Mat3.Identity) < 1e-12);
            Assert.True(id.Translation.Length < 1e-12);
        }

        Assert.Equal(new V3(1, -2, 3), Sim3.Identity.Apply(new V3(1, -2, 3)));
    }
}
