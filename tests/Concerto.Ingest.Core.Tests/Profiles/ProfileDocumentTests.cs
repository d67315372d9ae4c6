using Concerto.Ingest.Core.Profiles;

namespace Concerto.Ingest.Core.Tests.Profiles;

public class ProfileDocumentTests
{
    private const string Profile = """
        { "name": "p", "version": 1,
          "decode": { "width": 518, "sampling": { "mode": "fps", "fps": 2 }, "minSharpness": 10, "analysisFps": null,
                      "imageFormat": "jpg", "jpegQuality": 90 } }
        """;

    [Fact]
    public void Parse_GivesSameHash_WhenOnlyFormattingAndKeyOrderDiffer()
    {
        const string reordered = """
            {"decode":{"jpegQuality":90,"imageFormat":"jpg","analysisFps":null,"minSharpness":10,
              "sampling":{"fps":2,"mode":"fps"},"width":518},
             // comments are allowed
             "version":1,"name":"p"}
            """;
        Assert.Equal(ProfileDocument.Parse(Profile, "a").Hash, ProfileDocument.Parse(reordered, "b").Hash);
    }

    [Fact]
    public void Parse_GivesSameHash_WhenNumbersOrNullsAreSpelledDifferently()
    {
        var respelled = Profile.Replace("\"fps\": 2", "\"fps\": 2.0, \"count\": null", StringComparison.Ordinal)
            .Replace("\"analysisFps\": null,", "", StringComparison.Ordinal)
            .Replace("\"minSharpness\": 10", "\"minSharpness\": 1e1", StringComparison.Ordinal);
        Assert.NotEqual(Profile, respelled);
        Assert.Equal(ProfileDocument.Parse(Profile, "a").Hash, ProfileDocument.Parse(respelled, "b").Hash);
    }

    [Fact]
    public void Parse_ChangesHash_WhenASettingChanges()
    {
        var changed = Profile.Replace("\"fps\": 2", "\"fps\": 3", StringComparison.Ordinal);
        Assert.NotEqual(ProfileDocument.Parse(Profile, "a").Hash, ProfileDocument.Parse(changed, "b").Hash);
    }

    [Fact]
    public void Parse_ReadsSettings_WhenValid()
    {
        var doc = ProfileDocument.Parse(Profile, "a");
        Assert.Equal(518, doc.Profile.Decode.Width);
        Assert.Equal(SamplingMode.Fps, doc.Profile.Decode.Sampling.Mode);
        Assert.Equal(2.0, doc.Profile.Decode.Sampling.Fps);
        Assert.Equal(KeyframeImageFormat.Jpg, doc.Profile.Decode.ImageFormat);
        Assert.Equal(64, doc.Hash.Length);
    }

    [Theory]
    [InlineData("\"width\": 518", "\"width\": 4", "decode.width")]
    [InlineData("\"fps\": 2", "\"fps\": 0", "decode.sampling.fps")]
    [InlineData("\"jpegQuality\": 90", "\"jpegQuality\": 101", "decode.jpegQuality")]
    public void Parse_NamesTheSourceAndSetting_WhenInvalid(string from, string to, string setting)
    {
        var e = Assert.Throws<ProfileException>(() => ProfileDocument.Parse(Profile.Replace(from, to, StringComparison.Ordinal), "my.json"));
        Assert.StartsWith("my.json:", e.Message, StringComparison.Ordinal);
        Assert.Contains(setting, e.Message, StringComparison.Ordinal);
    }

    /// <summary>The reconstruct stereo and segment settings: read when given, refused naming the setting when out of range
    /// or not one of the choices.</summary>
    [Fact]
    public void Parse_ReadsStereoAndSegmentChoices_AndNamesBadOnes()
    {
        string With(string reconstruct, string segment) => Profile.Replace(" } }", $" }}, \"reconstruct\": {{ {reconstruct} }}, \"segment\": {{ {segment} }} }}",
            StringComparison.Ordinal);
        var doc = ProfileDocument.Parse(With("\"stereo\": { \"maxSide\": 518, \"depths\": 128, \"minConsistentViews\": 3 }",
            "\"views\": \"covisibility\", \"cloud\": \"scene\""), "a");
        Assert.Equal(new StereoSettings(518, 128, 3), doc.Profile.Reconstruct!.Stereo);
        Assert.Equal(new StereoSettings(Method: StereoMethod.PatchMatch, Iterations: 4),
            ProfileDocument.Parse(With("\"stereo\": { \"method\": \"patchMatch\", \"iterations\": 4 }", ""), "a").Profile.Reconstruct!.Stereo);
        Assert.Equal((ViewSelectionMode.Covisibility, SegmentCloud.Scene), (doc.Profile.Segment!.Views, doc.Profile.Segment.Cloud));
        var defaults = ProfileDocument.Parse(With("", ""), "a").Profile;
        Assert.Equal((ViewSelectionMode.Sliding, SegmentCloud.Views), (defaults.Segment!.Views, defaults.Segment.Cloud));

        var e = Assert.Throws<ProfileException>(() => ProfileDocument.Parse(With("\"stereo\": { \"maxSide\": 8 }", ""), "my.json"));
        Assert.Contains("reconstruct.stereo.maxSide", e.Message, StringComparison.Ordinal);
        e = Assert.Throws<ProfileException>(() => ProfileDocument.Parse(With("\"stereo\": { \"iterations\": 0 }", ""), "my.json"));
        Assert.Contains("reconstruct.stereo.iterations", e.Message, StringComparison.Ordinal);
        e = Assert.Throws<ProfileException>(() => ProfileDocument.Parse(With("\"stereo\": { \"method\": \"guess\" }", ""), "my.json"));
        Assert.StartsWith("my.json", e.Message, StringComparison.Ordinal);
        e = Assert.Throws<ProfileException>(() => ProfileDocument.Parse(With("", "\"cloud\": \"everything\""), "my.json"));
        Assert.StartsWith("my.json", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Parse_Fails_WhenNotJson()
    {
        var e = Assert.Throws<ProfileException>(() => ProfileDocument.Parse("{ nope", "broken.json"));
        Assert.Contains("broken.json", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ShippedDefaultProfile_IsValid()
    {
        var path = Path.Combine(AppContext.BaseDirectory, "pipelines", "video-default.json");
        var doc = ProfileDocument.Parse(File.ReadAllText(path), path);
        Assert.Equal("video-default", doc.Profile.Name);
        Assert.True(doc.Profile.Decode.Width >= 16);
    }
}
