using Concerto.Ingest.Train.Data;
using Concerto.Ingest.Train.Views;

namespace Concerto.Ingest.Train.Tests.Views;

public sealed class SonataViewPipelineTests
{
    private static readonly ViewPipelineSettings Small = ViewPipelineSettings.Sonata with
    {
        GridSize = 0.05,
        Views = new SonataViewSettings { MaxPoints = 800 },
    };

    [Fact]
    public void Make_ProducesTwoGlobalAndFourLocalViews_WithOriginCoordsFromTheScene()
    {
        var sample = ViewTestData.Random(4000, 2f, seed: 1);
        var set = SonataViewPipeline.Make(sample, new Random(3), Small);
        Assert.Equal(2, set.Global.Count);
        Assert.Equal(4, set.Local.Count);
        Assert.Empty(set.Images);
        foreach (var view in set.Global.Concat(set.Local))
        {
            Assert.Equal(3 * view.View.Count, view.OriginCoord.Length);
            Assert.NotEqual(view.OriginCoord, view.View.Coord);
            for (var j = 0; j < view.View.Count; j++)
            {
                var i = view.View.SourceIndex[j];
                Assert.Equal(sample.Coord.AsSpan(3 * i, 3).ToArray(), view.OriginCoord.AsSpan(3 * j, 3).ToArray());
                Assert.Equal(sample.Segment![i], view.View.Segment![j]);
            }
        }

        Assert.All(set.Global, v => Assert.InRange(v.View.Count, 320, 800));
        Assert.All(set.Local, v => Assert.InRange(v.View.Count, 80, 320));
    }

    [Fact]
    public void Make_GlobalViewsShareOneColourAugmentation()
    {
        var sample = ViewTestData.Random(4000, 2f, seed: 2);
        for (var seed = 0; seed < 5; seed++)
        {
            var set = SonataViewPipeline.Make(sample, new Random(seed), Small);
            var first = Colours(set.Global[0].View);
            var shared = 0;
            foreach (var (source, rgb) in Colours(set.Global[1].View))
            {
                if (!first.TryGetValue(source, out var other)) continue;
                Assert.Equal(other, rgb);
                shared++;
            }

            Assert.True(shared > 0, "the second global view is centred inside the first, so they overlap");
        }
    }

    [Fact]
    public void Make_IsDeterministicPerSeed_AndLeavesTheSampleUntouched()
    {
        var sample = ViewTestData.Random(3000, 2f, seed: 3);
        var (coord, color, normal) = ((float[])sample.Coord.Clone(), (float[])sample.Color.Clone(), (float[])sample.Normal.Clone());
        var a = SonataViewPipeline.Make(sample, new Random(9), ViewPipelineSettings.Concerto with { GridSize = 0.05, Views = Small.Views });
        var b = SonataViewPipeline.Make(sample, new Random(9), ViewPipelineSettings.Concerto with { GridSize = 0.05, Views = Small.Views });
        Assert.Equal(a.Global.Select(v => v.View.Coord), b.Global.Select(v => v.View.Coord));
        Assert.Equal(a.Local.Select(v => v.View.Color), b.Local.Select(v => v.View.Color));
        Assert.Equal(coord, sample.Coord);
        Assert.Equal(color, sample.Color);
        Assert.Equal(normal, sample.Normal);
    }

    [Fact]
    public void Make_Concerto_FirstGlobalViewIsTheMajorView_WithRemappedImages()
    {
        // A grid far finer than the point spacing keeps every point, so the major view can be checked on the sample.
        var sample = ViewTestData.Random(3000, 4f, seed: 4);
        var rows = new List<float>();
        for (var k = 0; k < 200; k++) rows.AddRange([100 + 2 * k, 20 + 2 * k, 5 * k]);
        sample = new PointSample
        {
            Key = sample.Key, Coord = sample.Coord, Color = sample.Color, Normal = sample.Normal, Segment = sample.Segment,
            SourceIndex = sample.SourceIndex, Images = [new SampleImage(640, 480, [.. rows], null, 0)],
        };
        var settings = ViewPipelineSettings.Concerto with { GridSize = 1e-4, MajorViewMaxPoints = 600, Views = new SonataViewSettings { MaxPoints = 600 } };
        var set = SonataViewPipeline.Make(sample, new Random(5), settings);

        var expected = MajorView.Select(sample, 600)!;
        Assert.Equal(expected.Order(), set.Global[0].View.SourceIndex.Order());
        var image = Assert.Single(set.Images);
        Assert.True(image.Rows > 0 && image.Rows < 200);
        for (var j = 0; j < image.Rows; j++)
        {
            var stored = set.Global[0].View.SourceIndex[image.PointIndex[j]];
            var k = stored / 5;
            Assert.Equal(100 + 2 * k, image.U[j]);
            Assert.Equal(20 + 2 * k, image.V[j]);
        }
    }

    [Fact]
    public void ViewFeatures_ScalesColourTo01()
    {
        var sample = ViewTestData.FromCoords([1, 2, 3]);
        sample.Color[0] = 255;
        sample.Color[1] = 51;
        sample.Color[2] = 0;
        var features = ViewFeatures.Build(sample);
        Assert.Equal([1f, 2f, 3f, 1f, 0.2f, 0f, 0f, 0f, 1f], features);
    }

    private static Dictionary<int, (float, float, float)> Colours(PointSample view)
    {
        var map = new Dictionary<int, (float, float, float)>();
        for (var j = 0; j < view.Count; j++) map[view.SourceIndex[j]] = (view.Color[3 * j], view.Color[3 * j + 1], view.Color[3 * j + 2]);
        return map;
    }
}
