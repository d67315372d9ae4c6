using Concerto.Ingest.Train.Views;

namespace Concerto.Ingest.Train.Tests.Views;

public sealed class SonataViewsTests
{
    private static readonly SonataViewSettings Small = new() { MaxPoints = 1000 };

    [Fact]
    public void Plan_ViewSizesStayWithinTheFractionsOfTheCap()
    {
        var sample = ViewTestData.Random(3000, 4f, seed: 5);
        for (var seed = 0; seed < 20; seed++)
        {
            var plan = SonataViews.Plan(sample.Coord, new Random(seed), Small);
            Assert.Equal(2, plan.Global.Length);
            Assert.Equal(4, plan.Local.Length);
            Assert.All(plan.Global, v => Assert.InRange(v.Length, 400, 1000));
            Assert.All(plan.Local, v => Assert.InRange(v.Length, 100, 400));
            Assert.All(plan.Global.Concat(plan.Local), v => Assert.Equal(v.Length, v.Distinct().Count()));
        }
    }

    [Fact]
    public void Plan_CapIsTheCloudSize_WhenTheCloudIsSmallerThanMaxPoints()
    {
        var sample = ViewTestData.Random(200, 1f, seed: 2);
        var plan = SonataViews.Plan(sample.Coord, new Random(1), Small);
        Assert.All(plan.Global, v => Assert.InRange(v.Length, 80, 200));
        Assert.All(plan.Local, v => Assert.InRange(v.Length, 20, 80));
    }

    [Fact]
    public void Plan_SecondGlobalCentreLiesInsideTheFirstView_AndEachViewHoldsItsCentre()
    {
        var sample = ViewTestData.Random(3000, 4f, seed: 6);
        for (var seed = 0; seed < 20; seed++)
        {
            var plan = SonataViews.Plan(sample.Coord, new Random(seed), Small);
            Assert.Contains(plan.GlobalCentre[1], plan.Global[0]);
            Assert.Contains(plan.GlobalCentre[0], plan.Global[0]);
            Assert.Contains(plan.GlobalCentre[1], plan.Global[1]);
        }
    }

    [Fact]
    public void Plan_ViewsAreTheNearestPointsToTheirCentres()
    {
        var sample = ViewTestData.Random(2000, 4f, seed: 8);
        var plan = SonataViews.Plan(sample.Coord, new Random(4), Small);
        var views = plan.Global.Zip(plan.GlobalCentre).Concat(plan.Local.Zip(plan.LocalCentre));
        foreach (var (view, centre) in views)
        {
            var inside = view.ToHashSet();
            var farthestIn = view.Max(i => ViewTestData.DistanceSquared(sample.Coord, i, centre));
            for (var i = 0; i < sample.Count; i++)
                if (!inside.Contains(i)) Assert.True(ViewTestData.DistanceSquared(sample.Coord, i, centre) >= farthestIn);
        }
    }

    [Fact]
    public void Plan_LocalCentresComeFromFirstViewPointsNoEarlierLocalViewCovers()
    {
        var sample = ViewTestData.Random(3000, 4f, seed: 9);
        for (var seed = 0; seed < 20; seed++)
        {
            var plan = SonataViews.Plan(sample.Coord, new Random(seed), Small);
            var first = plan.Global[0].ToHashSet();
            var covered = new HashSet<int>();
            for (var l = 0; l < plan.Local.Length; l++)
            {
                var centre = plan.LocalCentre[l];
                Assert.Contains(centre, first);
                if (!first.IsSubsetOf(covered)) Assert.DoesNotContain(centre, covered);
                covered.UnionWith(plan.Local[l]);
            }
        }
    }

    [Fact]
    public void Plan_WhenEveryFirstViewPointIsCovered_ResetsTheCover()
    {
        // 10 points, every view = the whole cloud: each local view covers the first view; the next must still find a centre.
        var sample = ViewTestData.Random(10, 1f, seed: 1);
        var all = new SonataViewSettings { MaxPoints = 10, GlobalMinFraction = 1, LocalMinFraction = 1, LocalMaxFraction = 1 };
        var plan = SonataViews.Plan(sample.Coord, new Random(2), all);
        Assert.All(plan.Local, v => Assert.Equal(10, v.Length));
        Assert.All(plan.LocalCentre, c => Assert.InRange(c, 0, 9));
    }

    [Fact]
    public void Plan_GivenFirstView_UsesIt()
    {
        var sample = ViewTestData.Random(500, 2f, seed: 3);
        int[] first = [.. Enumerable.Range(100, 300)];
        var plan = SonataViews.Plan(sample.Coord, new Random(1), Small, first);
        Assert.Same(first, plan.Global[0]);
        Assert.Equal(-1, plan.GlobalCentre[0]);
        Assert.Contains(plan.GlobalCentre[1], first);
        Assert.All(plan.LocalCentre, c => Assert.Contains(c, first));
    }

    [Fact]
    public void Make_IsDeterministicPerSeed_AndCopiesThePoints()
    {
        var sample = ViewTestData.Random(1500, 3f, seed: 4);
        var (g1, l1) = SonataViews.Make(sample, new Random(11), Small);
        var (g2, l2) = SonataViews.Make(sample, new Random(11), Small);
        Assert.Equal(g1.Select(v => v.SourceIndex), g2.Select(v => v.SourceIndex));
        Assert.Equal(l1.Select(v => v.SourceIndex), l2.Select(v => v.SourceIndex));
        var v0 = g1[0];
        for (var j = 0; j < v0.Count; j++)
        {
            var i = v0.SourceIndex[j];
            Assert.Equal(sample.Coord.AsSpan(3 * i, 3).ToArray(), v0.Coord.AsSpan(3 * j, 3).ToArray());
            Assert.Equal(sample.Segment![i], v0.Segment![j]);
        }
    }
}
