using Concerto.Ingest.Train.Data;
using Concerto.Ingest.Train.Views;

namespace Concerto.Ingest.Train.Tests.Views;

public sealed class MajorViewTests
{
    // 640 x 480: crop side floor(480 / 37) * 37 = 444 at (98, 18); a patch spans 12 crop pixels (444 / 37).
    [Theory]
    [InlineData(98f, 18f, 0, 0)]             // top-left crop pixel
    [InlineData(541.9f, 461.2f, 36, 36)]     // bottom-right crop pixel (541, 461)
    [InlineData(320f, 240f, 18, 18)]         // centre: 222 * 37 / 444 = 18.5
    [InlineData(110f, 30f, 1, 1)]            // 12 px in: first pixel of the second patch
    [InlineData(109.99f, 29.99f, 0, 0)]      // 11 px in
    [InlineData(97.9f, 100f, -1, -1)]        // left of the crop
    [InlineData(542f, 100f, -1, -1)]         // right of the crop
    [InlineData(300f, 17.5f, -1, -1)]        // above
    [InlineData(300f, 462f, -1, -1)]         // below
    [InlineData(float.NaN, 100f, -1, -1)]
    public void PatchCoordinates_Landscape(float u, float v, int row, int col) =>
        Assert.Equal((row, col), MajorView.PatchCoordinates(u, v, 640, 480));

    [Fact]
    public void PatchCoordinates_PortraitAndWide_UseTheCentredCrop()
    {
        Assert.Equal((0, 0), MajorView.PatchCoordinates(18, 98, 480, 640));
        Assert.Equal((-1, -1), MajorView.PatchCoordinates(18, 97, 480, 640));
        // 1920 x 1080: side 29 * 37 = 1073 at ((1920 - 1073) / 2, (1080 - 1073) / 2) = (423, 3).
        Assert.Equal((0, 0), MajorView.PatchCoordinates(423, 3, 1920, 1080));
        Assert.Equal((-1, -1), MajorView.PatchCoordinates(422, 3, 1920, 1080));
        Assert.Equal((36, 36), MajorView.PatchCoordinates(423 + 1072, 3 + 1072, 1920, 1080));
        Assert.Equal((-1, -1), MajorView.PatchCoordinates(5, 5, 30, 30)); // smaller than one crop unit
    }

    /// <summary>100 points on the x axis at x = i, stored indices i + 1000. Image 0 sees points 10..19 and 26 inside
    /// the crop and point 60 outside it; image 1 sees points 30, 31; image 2 only a point the sample lacks and the
    /// empty sentinel; image 3 point 50 outside the crop. In-crop points: 10..19, 26, 30, 31, mean x = 232 / 13 = 17.85;
    /// its 16 nearest points are 10..25.</summary>
    private static PointSample LineWithImages()
    {
        var coord = new float[300];
        for (var i = 0; i < 100; i++) coord[3 * i] = i;
        var rows0 = new List<float>();
        for (var k = 0; k < 10; k++) rows0.AddRange([98 + 40 * k + 0.5f, 18 + 40 * k + 0.7f, 1010 + k]);
        rows0.AddRange([300, 300, 1026]);
        rows0.AddRange([10, 300, 1060]);
        SampleImage[] images =
        [
            new(640, 480, [.. rows0], null, 0),
            new(640, 480, [200, 200, 1030, 210, 200, 1031], null, 0),
            new(640, 480, [200, 200, 5000, -1, -1, -1], null, 0),
            new(640, 480, [50, 200, 1050], null, 0),
        ];
        return ViewTestData.FromCoords(coord, images, sourceOffset: 1000);
    }

    [Fact]
    public void Make_CentresOnTheMeanOfCorrespondedPoints_AndTakesTheNearest()
    {
        var (view, _) = MajorView.Make(LineWithImages(), maxPoints: 16);
        Assert.Equal(Enumerable.Range(1010, 16), view.SourceIndex.Order());
    }

    [Fact]
    public void Make_RemapsRowsToViewPoints_KeepingPixelsAndStoredIndices_AndDropsEmptyImages()
    {
        var sample = LineWithImages();
        var (view, images) = MajorView.Make(sample, maxPoints: 16);
        var image = Assert.Single(images);
        Assert.Equal(0, image.ImageIndex);
        Assert.Equal((640, 480), (image.Width, image.Height));
        Assert.Equal(10, image.Rows); // rows of points 26 (not in the view) and 60 (outside the crop) are gone
        var original = sample.Images[0].Correspondence;
        for (var j = 0; j < image.Rows; j++)
        {
            Assert.Equal(original[3 * j], image.U[j]);
            Assert.Equal(original[3 * j + 1], image.V[j]);
            Assert.Equal((int)original[3 * j + 2], view.SourceIndex[image.PointIndex[j]]);
            var (row, col) = MajorView.PatchCoordinates(image.U[j], image.V[j], 640, 480);
            Assert.Equal(row * 37 + col, image.Patch[j]);
            Assert.Equal(j * 40 / 12, col); // 40 px per step, 12 px per patch
        }
    }

    [Fact]
    public void Make_WithoutCorrespondences_UsesTheCentroidAndReturnsNoImages()
    {
        var coord = new float[30];
        for (var i = 0; i < 10; i++) coord[3 * i] = i * i;
        var sample = ViewTestData.FromCoords(coord); // centroid x = 28.5
        Assert.Null(MajorView.Select(sample, 3));
        var (view, images) = MajorView.Make(sample, maxPoints: 3);
        Assert.Empty(images);
        Assert.Equal([4, 5, 6], view.SourceIndex.Order().ToArray()); // x = 16, 25, 36
    }

    [Fact]
    public void Remap_AfterGridSampling_FollowsSourceIndexNotPosition()
    {
        var sample = LineWithImages();
        var subset = PointSubset.Take(sample, [.. Enumerable.Range(0, 100).Where(i => i % 2 == 0)]); // even points only
        var images = MajorView.Remap(subset, [.. Enumerable.Range(0, 50)]);
        Assert.Equal([0, 1], images.Select(i => i.ImageIndex));
        int[] stored = [.. images[0].PointIndex.Select(j => subset.SourceIndex[j])];
        Assert.Equal([1010, 1012, 1014, 1016, 1018, 1026], stored); // odd points are gone; 60 is outside the crop
        Assert.Equal([1030], images[1].PointIndex.Select(j => subset.SourceIndex[j]));
        Assert.Equal([200f], images[1].U);
    }
}
