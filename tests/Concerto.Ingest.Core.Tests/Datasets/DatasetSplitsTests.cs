using Concerto.Ingest.Core.Datasets;

namespace Concerto.Ingest.Core.Tests.Datasets;

public sealed class DatasetSplitsTests
{
    [Fact]
    public void Parse_ReadsNamesAndFractions_AndFormatRoundTrips()
    {
        var splits = DatasetSplits.Parse(" train=0.8, val=0.1,test=0.1 ");
        Assert.Equal([new("train", 0.8), new("val", 0.1), new("test", 0.1)], splits);
        Assert.Equal(splits, DatasetSplits.Parse(DatasetSplits.Format(splits)));
    }

    [Theory]
    [InlineData("train=0.9,val=0.2", "add up to 1.1")]
    [InlineData("train", "is not NAME=FRACTION")]
    [InlineData("train=0.5,TRAIN=0.5", "named twice")]
    [InlineData("tr/ain=1", "must be letters")]
    [InlineData("train=1.5,val=-0.5", "must be in (0, 1]")]
    [InlineData("", "no splits given")]
    public void Parse_RefusesBadSplits_SayingWhy(string text, string reason)
    {
        var error = Assert.Throws<ArgumentException>(() => DatasetSplits.Parse(text));
        Assert.Contains(reason, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Assign_IsDeterministic_FollowsTheFractions_AndDependsOnTheSeed()
    {
        var splits = DatasetSplits.Parse("train=0.9,val=0.1");
        var keys = Enumerable.Range(0, 20_000).Select(i => $"video{i % 97:x4}-p-{i:D4}").ToList();
        var first = keys.Select(k => DatasetSplits.Assign(k, 7, splits)).ToList();
        Assert.Equal(first, keys.Select(k => DatasetSplits.Assign(k, 7, splits)));
        // Binomial: 2000 expected in val, standard deviation 42; 5 sigma either way.
        Assert.InRange(first.Count(s => s == "val"), 1790, 2210);
        var other = keys.Select(k => DatasetSplits.Assign(k, 8, splits)).ToList();
        Assert.InRange(first.Zip(other).Count(p => p.First != p.Second), 2800, 4400); // 2 x 0.9 x 0.1 = 18% expected to move
    }
}
