using Concerto.Ingest.Core.Profiles;

namespace Concerto.Ingest.Core.Tests.Profiles;

/// <summary>The crop and pixel-to-patch rule Pointcept's DefaultImagePointDataset applies (largest k with
/// k x columns &lt;= width and k x rows &lt;= height, centred, integer offsets), hand-worked.</summary>
public class TeacherGridTests
{
    [Fact]
    public void Dinov2_CropsTheLargestSquareOf37s_AndMapsPixelsTo37By37Patches()
    {
        var grid = TeacherGrid.Dinov2;
        Assert.Equal((518, 518, 1369), (grid.InputHeight, grid.InputWidth, grid.Tokens));
        // 640 x 480: k = 12, a 444 x 444 square at (98, 18); 12 pixels per patch.
        Assert.Equal(new TeacherCrop(98, 18, 444, 444), grid.Crop(640, 480));
        Assert.Equal((0, 0), grid.PatchOf(98, 18, 640, 480));
        Assert.Equal((0, 0), grid.PatchOf(109.9f, 29.9f, 640, 480));
        Assert.Equal((1, 1), grid.PatchOf(110, 30, 640, 480));
        Assert.Equal((36, 36), grid.PatchOf(541.5f, 461.5f, 640, 480));
        Assert.Equal((-1, -1), grid.PatchOf(97.9f, 100, 640, 480));
        Assert.Equal((-1, -1), grid.PatchOf(542, 100, 640, 480));
        Assert.Equal((-1, -1), grid.PatchOf(float.NaN, 100, 640, 480));
        Assert.Null(grid.Crop(36, 500));
        Assert.Equal((-1, -1), grid.PatchOf(5, 5, 36, 500));
    }

    [Fact]
    public void PointceptDefaultGrid_45By80_CropsAWholeMultipleOfTheGrid()
    {
        var grid = new TeacherGrid(45, 80, 14);
        Assert.Equal((630, 1120, 3600), (grid.InputHeight, grid.InputWidth, grid.Tokens));
        // 1000 x 600: k = min(1000 / 80, 600 / 45) = min(12, 13) = 12: 960 x 540 at (20, 30); 12 pixels per patch.
        Assert.Equal(new TeacherCrop(20, 30, 960, 540), grid.Crop(1000, 600));
        Assert.Equal((0, 0), grid.PatchOf(20, 30, 1000, 600));
        Assert.Equal((0, 1), grid.PatchOf(32, 41.9f, 1000, 600));
        Assert.Equal((1, 0), grid.PatchOf(31.9f, 42, 1000, 600));
        Assert.Equal((44, 79), grid.PatchOf(979, 569, 1000, 600));
        Assert.Equal((-1, -1), grid.PatchOf(19, 100, 1000, 600));
        Assert.Equal((-1, -1), grid.PatchOf(500, 570, 1000, 600));
        // A 16:9 frame fills it: 1920 x 1080, k = 24, no border.
        Assert.Equal(new TeacherCrop(0, 0, 1920, 1080), grid.Crop(1920, 1080));
        // A portrait frame: 480 x 640, k = min(6, 14) = 6: 480 x 270 at (0, 185).
        Assert.Equal(new TeacherCrop(0, 185, 480, 270), grid.Crop(480, 640));
    }

    [Fact]
    public void FeaturizeSettings_DefaultToDinov2_AndTakeAnyGridFromHeightAndWidth()
    {
        Assert.Equal(TeacherGrid.Dinov2, FeaturizeSettings.Default.Grid);
        var wide = FeaturizeSettings.Default with { ImageHeight = 630, ImageWidth = 1120 };
        Assert.Equal(new TeacherGrid(45, 80, 14), wide.Grid);
        Assert.Equal(3600, wide.PatchTokens);
    }

    [Theory]
    [InlineData("\"imageHeight\": 630, \"imageWidth\": 1120", null)]
    [InlineData("\"imageSize\": 518, \"cropMultiple\": 37", null)]
    [InlineData("\"imageHeight\": 630, \"imageWidth\": 1120, \"cropMultiple\": 37", "featurize.cropMultiple (37)")]
    [InlineData("\"imageHeight\": 631, \"imageWidth\": 1120", "featurize.imageSize (or imageHeight and imageWidth)")]
    [InlineData("\"imageSize\": 518, \"patchSize\": 0", "featurize.patchSize")]
    public void Profiles_AcceptAnyWholeGrid_AndNameTheSettingThatIsNot(string featurize, string? error)
    {
        var text = $$"""{ "name": "p", "version": 1, "featurize": { {{featurize}} } }""";
        if (error is null)
        {
            Assert.NotNull(ProfileDocument.Parse(text, "p.json").Profile.Featurize);
            return;
        }

        var e = Assert.Throws<ProfileException>(() => ProfileDocument.Parse(text, "p.json"));
        Assert.Contains(error, e.Message, StringComparison.Ordinal);
    }
}
