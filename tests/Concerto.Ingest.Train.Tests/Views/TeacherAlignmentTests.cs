using Concerto.Ingest.Core.Profiles;
using Concerto.Ingest.Synthetic.Training;
using Concerto.Ingest.Train.Data;
using Concerto.Ingest.Train.Views;
using Xunit.Abstractions;

namespace Concerto.Ingest.Train.Tests.Views;

/// <summary>The data path the cross-modal loss learns from, end to end: a synthetic set's teacher features, read by
/// the trainer's loader and re-mapped to patches by the major view, must describe the points they are paired with.
/// The synthetic teacher encodes each patch's class mix, so a patch feature's nearest class centroid must mostly be
/// the paired point's own label; a swapped axis, a wrong crop or a stale point index would pair points with unrelated
/// patches and fall to the share of the largest class.</summary>
public sealed class TeacherAlignmentTests(ITestOutputHelper output) : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("concerto-alignment-").FullName;

    /// <summary>On DINOv2's 37 x 37 grid, and on a non-square one whose rows and columns differ (so swapping them, or
    /// assuming 37 x 37, would pair points with the wrong patches): the grid travels from the synthetic teacher through
    /// dataset.json to the loader and the major view.</summary>
    [Theory]
    [InlineData(37, 37, 14)]
    [InlineData(9, 16, 16)]
    public async Task PatchFeatures_AtCorrespondedPoints_EncodeThePointsClass(int rows, int columns, int patchSize)
    {
        var grid = new TeacherGrid(rows, columns, patchSize);
        await SyntheticTrainingSet.WriteAsync(_folder, new SyntheticTrainingSettings
        {
            ScenesBySplit = new Dictionary<string, int[]> { ["train"] = [1, 2, 3] },
            PointsPerSegment = 30_000,
            FeatureGrid = grid,
        }, CancellationToken.None);
        var dataset = await TrainingDataset.OpenAsync(_folder, CancellationToken.None);
        Assert.Equal(grid, dataset.TeacherGrid);
        var pairs = new List<(int Label, float[] Feature)>();
        foreach (var row in dataset.ForSplit("train"))
        {
            var sample = dataset.Load(row);
            var kept = GridSample.FirstIndices(sample.Coord, 0.02);
            var (view, images) = MajorView.Make(PointSubset.Take(sample, kept));
            foreach (var image in images)
            {
                Assert.Equal(grid, image.Grid);
                Assert.All(image.Patch, patch => Assert.InRange(patch, 0, grid.Tokens - 1));
                var source = sample.Images[image.ImageIndex];
                var width = source.FeatureWidth;
                for (var j = 0; j < image.Rows; j++)
                {
                    var label = view.Segment![image.PointIndex[j]];
                    if (label < 0) continue;
                    var feature = new float[width];
                    for (var c = 0; c < width; c++) feature[c] = (float)source.Feature![image.Patch[j] * width + c];
                    pairs.Add((label, feature));
                }
            }
        }

        var centroids = pairs.GroupBy(p => p.Label).ToDictionary(g => g.Key, g => Mean(g.Select(p => p.Feature).ToList()));
        var agree = pairs.Count(p => centroids.MinBy(c => Distance(c.Value, p.Feature)).Key == p.Label) / (double)pairs.Count;
        var largest = pairs.GroupBy(p => p.Label).Max(g => g.Count()) / (double)pairs.Count;
        output.WriteLine($"{pairs.Count} pairs, {centroids.Count} classes: nearest class centroid = point label for {agree:P1}; largest class {largest:P1}");
        Assert.True(pairs.Count > 1000, $"only {pairs.Count} corresponded labelled points");
        Assert.True(agree > 0.8 && agree > largest + 0.2, $"patch features agree with their points' labels for {agree:P1} (largest class {largest:P1})");
    }

    private static float[] Mean(List<float[]> rows)
    {
        var mean = new float[rows[0].Length];
        foreach (var r in rows)
            for (var c = 0; c < mean.Length; c++) mean[c] += r[c] / rows.Count;
        return mean;
    }

    private static double Distance(float[] a, float[] b)
    {
        double sum = 0;
        for (var c = 0; c < a.Length; c++) sum += (a[c] - b[c]) * (a[c] - b[c]);
        return sum;
    }

    public void Dispose() => Directory.Delete(_folder, recursive: true);
}
