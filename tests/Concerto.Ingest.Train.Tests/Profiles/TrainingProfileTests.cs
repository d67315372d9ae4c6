using Concerto.Ingest.Core.Profiles;
using Concerto.Ingest.Train.Profiles;

namespace Concerto.Ingest.Train.Tests.Profiles;

public sealed class TrainingProfileTests
{
    [Theory]
    [InlineData("tiny", 4.86e6, 3.0)]
    [InlineData("small", 38.65e6, 3.0)]
    [InlineData("base", 108.46e6, 3.0)]
    [InlineData("large", 207.67e6, 2.0)]
    public void ShippedProfiles_Parse_AndGiveTheirSize(string size, double parameters, double clip)
    {
        var (profile, _, hash) = TrainingProfile.Load(Path.Combine(RepoRoot(), "pipelines", $"concerto-{size}.json"));
        Assert.Equal(size, profile.Model.Size);
        Assert.InRange(profile.Encoder.ParameterCount() / parameters, 0.99, 1.01);
        Assert.Equal(clip, profile.Optimizer.GradientClip);
        Assert.True(profile.Concerto.Enabled);
        Assert.Equal(ConcertoSettings.Default, profile.Concerto.Weights);
        Assert.Equal((0.1, 0.4), profile.Sonata.MaskSizeRange);
        Assert.Equal(64, hash.Length);
    }

    [Fact]
    public void Defaults_AreTheSpecs_AndFormattingDoesNotChangeTheHash()
    {
        var (a, _, hashA) = TrainingProfile.Parse("""{ "name": "x", "version": 1 }""", "a.json");
        var (_, _, hashB) = TrainingProfile.Parse("""
            // comment
            { "version": 1, "name": "x", "model": { "size": "tiny" }, }
            """, "b.json");
        Assert.Equal(hashA, hashB);
        Assert.Equal(0.004, a.Optimizer.LearningRate);
        Assert.Equal((0.04, 0.2), a.Optimizer.WeightDecayRange);
        Assert.Equal(1024, a.Encoder.PatchSize);
        Assert.Equal(new LossWeights(0.25, 0.25, 0.5, 0), (a with { Concerto = new ConcertoSettings(Enabled: false) }).Concerto.Weights);
    }

    [Theory]
    [InlineData("""{ "name": "x", "version": 1, "model": { "size": "huge" } }""", "Unknown model size 'huge'")]
    [InlineData("""{ "name": "x", "version": 1, "data": { "batchSize": 0 } }""", "data.batchSize")]
    [InlineData("""{ "name": "x", "version": 1, "optimiser": {} }""", "optimiser")]
    [InlineData("""{ "name": "x", "version": 1, "schedule": { "epochs": null } }""", "schedule needs steps or epochs")]
    [InlineData("""{ "name": "x", """, "bad.json")]
    public void BadProfiles_FailNamingTheProblem(string json, string expected)
    {
        var error = Assert.Throws<ProfileException>(() => TrainingProfile.Parse(json, "bad.json"));
        Assert.Contains(expected, error.Message, StringComparison.Ordinal);
        Assert.StartsWith("bad.json", error.Message, StringComparison.Ordinal);
    }

    private static string RepoRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "Concerto.Ingest.sln"))) return dir.FullName;
        throw new DirectoryNotFoundException("repository root not found above " + AppContext.BaseDirectory);
    }
}
