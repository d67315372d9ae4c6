using System.Security.Cryptography;
using System.Text.Json;
using Concerto.Ingest.Formats.Arrays;
using Concerto.Ingest.Synthetic.Scenes;
using Concerto.Ingest.Synthetic.Training;
using Concerto.Ingest.Train.Data;
using Concerto.Ingest.Train.Views;
using OpenCvSharp;
using Xunit.Abstractions;

namespace Concerto.Ingest.Synthetic.Tests.Training;

public sealed class SyntheticTrainingSetTests(SyntheticSetFixture set, ITestOutputHelper output) : IClassFixture<SyntheticSetFixture>
{
    private static readonly SyntheticTrainingSettings Settings = SyntheticSetFixture.Settings;
    private static int Classes => Enum.GetValues<SemanticClass>().Length;

    [Theory]
    [InlineData("synth1-s0", 1)]
    [InlineData("synth10-s1", 10)]
    [InlineData("synth102-s12", 102)]
    [InlineData("synth-s0", null)]
    [InlineData("synthx-s0", null)]
    [InlineData("scene0001_00", null)]
    public void RoomOf_ReadsTheSceneSeedOfASegmentKey(string key, int? room)
    {
        Assert.Equal(room, SyntheticTrainingSet.RoomOf(key));
        if (room is { } r) Assert.Equal(key, SyntheticTrainingSet.SegmentKey(r, int.Parse(key[(key.LastIndexOf('s') + 1)..], System.Globalization.CultureInfo.InvariantCulture)));
    }

    [Fact]
    public void OpenAsync_ReadsEverySegment_WithTheSettingsShapes()
    {
        output.WriteLine($"wrote {set.Summary.Segments} segments, {set.Summary.Points} points, {set.Summary.Correspondences} correspondences, " +
                         $"{set.Summary.Bytes / 1024} KiB in {set.Summary.Elapsed.TotalSeconds:F2} s");
        Assert.Equal(16, set.Dataset.Rows.Count);
        Assert.Equal(["train", "val"], set.Dataset.Splits);
        Assert.Equal(12, set.Dataset.ForSplit("train").Count);
        Assert.Equal(4, set.Dataset.ForSplit("val").Count);
        Assert.Equal(Settings.FeatureWidth, set.Dataset.FeatureWidth);
        Assert.Equal("synth1-s0", set.Dataset.Rows[0].SceneId);
        Assert.Equal("synth102-s1", set.Dataset.Rows[^1].SceneId);

        foreach (var (row, sample) in set.Dataset.Rows.Zip(set.Samples))
        {
            var n = sample.Coord.Length / 3;
            Assert.InRange(n, 500, Settings.PointsPerSegment / 2);
            Assert.Equal(row.Points, n);
            Assert.Equal(3 * n, sample.Color.Length);
            Assert.Equal(3 * n, sample.Normal.Length);
            Assert.Equal(n, sample.Segment!.Length);
            Assert.Equal(Settings.ImagesPerSegment, sample.Images.Count);
            Assert.All(sample.Images, image =>
            {
                Assert.Equal((Settings.ImageWidth, Settings.ImageHeight), (image.Width, image.Height));
                Assert.Equal(Settings.FeatureWidth, image.FeatureWidth);
                Assert.Equal(1369 * Settings.FeatureWidth, image.Feature!.Length);
                Assert.All(image.Feature, f => Assert.True(Half.IsFinite(f)));
            });
            // Cameras look at the segment: most images see a good part of it.
            Assert.True(sample.Images.Count(i => i.Correspondence.Length / 3 >= 100) >= 3,
                $"{row.SceneId}: correspondences per image {string.Join(", ", sample.Images.Select(i => i.Correspondence.Length / 3))}");
            // The trainer's major view keeps the images (their correspondences fall in the teacher crop).
            Assert.True(MajorView.Make(sample).Images.Count >= 3, $"{row.SceneId}: the major view drops images");
            Assert.InRange(row.Metrics["coverage_mean"], 0.2, 1.0);
            Assert.Equal(1, row.Metrics["labelled"]);
        }
    }

    [Fact]
    public void Correspondences_ReprojectOntoTheirPixel_WithTheManifestCameras()
    {
        var rows = 0;
        foreach (var (row, sample) in set.Dataset.Rows.Zip(set.Samples))
        {
            for (var i = 0; i < sample.Images.Count; i++)
            {
                var m = row.CameraToWorld[i];
                var k = row.Intrinsics[i];
                var c = sample.Images[i].Correspondence;
                var pixels = new HashSet<(float, float)>();
                for (var r = 0; r < c.Length; r += 3)
                {
                    var p = (int)c[r + 2];
                    double dx = sample.Coord[3 * p] - m[3], dy = sample.Coord[3 * p + 1] - m[7], dz = sample.Coord[3 * p + 2] - m[11];
                    // Camera = R^T (world - t), R row-major in the 4x4's upper left.
                    var x = m[0] * dx + m[4] * dy + m[8] * dz;
                    var y = m[1] * dx + m[5] * dy + m[9] * dz;
                    var z = m[2] * dx + m[6] * dy + m[10] * dz;
                    Assert.True(z > 0, $"{row.SceneId} image {i}: point {p} behind the camera");
                    var u = k[0] * x / z + k[2];
                    var v = k[1] * y / z + k[3];
                    Assert.True(Math.Abs(u - c[r]) <= 1 && Math.Abs(v - c[r + 1]) <= 1,
                        $"{row.SceneId} image {i}: point {p} projects to ({u:F2}, {v:F2}), its row says ({c[r]}, {c[r + 1]})");
                    Assert.InRange(c[r], 0, k[4] - 1);
                    Assert.InRange(c[r + 1], 0, k[5] - 1);
                    Assert.True(pixels.Add((c[r], c[r + 1])), $"{row.SceneId} image {i}: pixel ({c[r]}, {c[r + 1]}) listed twice");
                    rows++;
                }
            }
        }

        Assert.Equal(set.Summary.Correspondences, rows);
        Assert.True(rows > 10_000, $"only {rows} correspondences");
    }

    [Fact]
    public void Correspondences_LandOnPixelsOfTheirPointsColour_SoOccludedPointsAreLeftOut()
    {
        // Points carry the renderer's shading: a visible point's pixel shows its colour (up to texture within the pixel);
        // a point seen through an occluder would show the occluder's.
        double total = 0;
        long rows = 0;
        foreach (var (row, sample) in set.Dataset.Rows.Zip(set.Samples))
        {
            for (var i = 0; i < sample.Images.Count; i++)
            {
                using var png = Cv2.ImRead(set.Dataset.ResolvePath(row.ImageUris[i]), ImreadModes.Color);
                var c = sample.Images[i].Correspondence;
                double sum = 0;
                for (var r = 0; r < c.Length; r += 3)
                {
                    var p = (int)c[r + 2];
                    var bgr = png.At<Vec3b>((int)c[r + 1], (int)c[r]);
                    sum += (Math.Abs(bgr.Item2 - sample.Color[3 * p]) + Math.Abs(bgr.Item1 - sample.Color[3 * p + 1]) + Math.Abs(bgr.Item0 - sample.Color[3 * p + 2])) / 3;
                }

                var mean = c.Length == 0 ? 0 : sum / (c.Length / 3);
                Assert.True(mean < 12, $"{row.SceneId} image {i}: mean colour difference {mean:F1} between correspondences' pixels and points");
                total += sum;
                rows += c.Length / 3;
            }
        }

        output.WriteLine($"mean colour difference {total / rows:F2} over {rows} correspondences");
        Assert.True(total / rows < 6, $"mean colour difference {total / rows:F2}");
    }

    [Fact]
    public void ImageSide_MatchesTheManifest_PosesIntrinsicsAndPngs()
    {
        var row = set.Dataset.Rows[3];
        for (var i = 0; i < row.ImageUris.Count; i++)
        {
            var side = Path.GetDirectoryName(Path.GetDirectoryName(set.Dataset.ResolvePath(row.ImageUris[i])))!;
            var (pose, poseShape) = Npy.Read<float>(Path.Combine(side, "pose", $"{i}.npy"));
            Assert.Equal([4, 4], poseShape);
            for (var j = 0; j < 16; j++) Assert.Equal(row.CameraToWorld[i][j], pose[j], 1e-5);
            var (intrinsic, intrinsicShape) = Npy.Read<float>(Path.Combine(side, "intrinsic", $"{i}.npy"));
            Assert.Equal([3, 3], intrinsicShape);
            Assert.Equal([row.Intrinsics[i][0], 0, row.Intrinsics[i][2], 0, row.Intrinsics[i][1], row.Intrinsics[i][3], 0, 0, 1],
                intrinsic.Select(v => (double)v).ToArray(), (a, b) => Math.Abs(a - b) < 1e-4);

            using var png = Cv2.ImRead(set.Dataset.ResolvePath(row.ImageUris[i]), ImreadModes.Color);
            Assert.Equal((Settings.ImageWidth, Settings.ImageHeight), (png.Width, png.Height));
            var mean = png.Mean();
            Assert.True(mean.Val0 + mean.Val1 + mean.Val2 > 60, $"image {i} is nearly black");
        }

        Assert.Equal($"images/{row.Split}/{row.SceneId}/feature/0.npy", row.FeatureUris![0]);
        Assert.Equal($"{row.Split}/{row.SceneId}", row.PointCloudUri);
    }

    [Fact]
    public void SplitFilesAndVersion_ListEverySegment_AsTheExporterWritesThem()
    {
        using var train = JsonDocument.Parse(File.ReadAllText(Path.Combine(set.Folder, "splits", "train.json")));
        var entries = train.RootElement.EnumerateObject().ToList();
        Assert.Equal(12, entries.Count);
        var first = entries[0];
        Assert.Equal("synth1-s0", first.Name);
        Assert.Equal("train/synth1-s0", first.Value.GetProperty("pointclouds").GetString());
        Assert.Equal(4, first.Value.GetProperty("images").GetArrayLength());
        Assert.Equal("images/train/synth1-s0/correspondence/3.npy", first.Value.GetProperty("correspondences")[3].GetString());
        Assert.All(entries, e => Assert.True(Directory.Exists(Path.Combine(set.Folder, e.Value.GetProperty("pointclouds").GetString()!))));

        using var version = JsonDocument.Parse(File.ReadAllText(Path.Combine(set.Folder, "dataset.json")));
        Assert.Equal(16, version.RootElement.GetProperty("segments").GetInt32());
        Assert.Equal(4, version.RootElement.GetProperty("counts").GetProperty("val").GetInt32());
        var hash = Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(set.Dataset.ManifestPath)));
        Assert.Equal(hash, version.RootElement.GetProperty("hash").GetString());
        Assert.Equal(SyntheticTrainingSet.TeacherName(Settings.FeatureWidth), version.RootElement.GetProperty("teacher").GetString());
    }

    [Fact]
    public void Labels_AreClassIds_AndEverySegmentHoldsSeveralClasses()
    {
        foreach (var sample in set.Samples)
        {
            Assert.All(sample.Segment!, label => Assert.InRange(label, 0, Classes - 1));
            var n = sample.Segment!.Length;
            var present = sample.Segment.GroupBy(l => l).Count(g => g.Count() >= n / 100);
            Assert.True(present >= 3, $"{sample.Key} holds {present} classes");
        }
    }

    [Fact]
    public void Features_AreSimilarWithinAClass_AndDifferentAcrossClasses()
    {
        // Patches whose correspondences (at least 4) all carry one class, mapped with the trainer's own patch mapping.
        var byClass = new Dictionary<int, List<float[]>>();
        foreach (var sample in set.Samples)
        foreach (var image in sample.Images)
        {
            var labels = new Dictionary<int, List<int>>();
            var c = image.Correspondence;
            for (var r = 0; r < c.Length; r += 3)
            {
                var (row, col) = MajorView.PatchCoordinates(c[r], c[r + 1], image.Width, image.Height);
                if (row < 0) continue;
                var patch = row * 37 + col;
                if (!labels.TryGetValue(patch, out var list)) labels[patch] = list = [];
                list.Add(sample.Segment![(int)c[r + 2]]);
            }

            foreach (var (patch, list) in labels)
            {
                if (list.Count < 4 || list.Any(l => l != list[0])) continue;
                if (!byClass.TryGetValue(list[0], out var features)) byClass[list[0]] = features = [];
                features.Add(Enumerable.Range(0, image.FeatureWidth).Select(ch => (float)image.Feature![patch * image.FeatureWidth + ch]).ToArray());
            }
        }

        var classes = byClass.Where(p => p.Value.Count >= 20).Select(p => p.Key).Order().ToList();
        Assert.True(classes.Count >= 4, $"pure patches per class: {string.Join(", ", byClass.Select(p => $"{p.Key}: {p.Value.Count}"))}");
        foreach (var a in classes)
        {
            var within = MeanCosine(byClass[a], byClass[a]);
            output.WriteLine($"class {a}: {byClass[a].Count} patches, cosine within {within:F3}");
            Assert.True(within > 0.8, $"class {a}: mean cosine within {within:F3}");
            foreach (var b in classes.Where(b => b > a))
            {
                var across = MeanCosine(byClass[a], byClass[b]);
                output.WriteLine($"  vs class {b}: {across:F3}");
                Assert.True(across < 0.6 && across < within - 0.3, $"classes {a} and {b}: mean cosine across {across:F3}, within {within:F3}");
            }
        }
    }

    [Fact]
    public async Task WriteAsync_GivesTheSameBytes_ForTheSameSettings()
    {
        var settings = new SyntheticTrainingSettings
        {
            ScenesBySplit = new Dictionary<string, int[]> { ["train"] = [7], ["test"] = [8] },
            SegmentsPerScene = 1,
            PointsPerSegment = 8_000,
            ImagesPerSegment = 3,
            FeatureWidth = 8,
            MaxParallelism = 1,
        };
        var top = Directory.CreateTempSubdirectory("concerto-synthset-twice-").FullName;
        try
        {
            await SyntheticTrainingSet.WriteAsync(Path.Combine(top, "a"), settings, CancellationToken.None);
            await SyntheticTrainingSet.WriteAsync(Path.Combine(top, "b"), settings with { MaxParallelism = null }, CancellationToken.None);
            await SyntheticTrainingSet.WriteAsync(Path.Combine(top, "c"), settings with { FeatureSeed = 1 }, CancellationToken.None);

            var a = Hashes(Path.Combine(top, "a"));
            Assert.Equal(2 + 2 * (5 + 3 * 5) + 2, a.Count); // 2 split files; per segment 5 cloud arrays + 3 images x 5 files; manifest, dataset.json
            Assert.Equal(a, Hashes(Path.Combine(top, "b")));
            var c = Hashes(Path.Combine(top, "c"));
            var changed = a.Keys.Where(k => a[k] != c[k]).ToList();
            // The teacher's seed changes the features and nothing else but the manifest's hash in dataset.json.
            Assert.Equal(6, changed.Count(k => k.Contains("/feature/", StringComparison.Ordinal)));
            Assert.Equal(["dataset.json"], changed.Where(k => !k.Contains("/feature/", StringComparison.Ordinal)));
        }
        finally
        {
            Directory.Delete(top, recursive: true);
        }
    }

    [Fact]
    public async Task WriteAsync_LeavesLabelsOut_WhenAskedTo()
    {
        var top = Directory.CreateTempSubdirectory("concerto-synthset-unlabelled-").FullName;
        try
        {
            var settings = new SyntheticTrainingSettings
            {
                ScenesBySplit = new Dictionary<string, int[]> { ["train"] = [9] },
                SegmentsPerScene = 1,
                PointsPerSegment = 6_000,
                IncludeLabels = false,
            };
            await SyntheticTrainingSet.WriteAsync(Path.Combine(top, "set"), settings, CancellationToken.None);
            var dataset = await TrainingDataset.OpenAsync(Path.Combine(top, "set"), CancellationToken.None);
            Assert.Null(dataset.Load(0).Segment);
            Assert.Equal(0, dataset.Rows[0].Metrics["labelled"]);
            Assert.False(File.Exists(Path.Combine(top, "set", "train", "synth9-s0", "instance.npy")));
        }
        finally
        {
            Directory.Delete(top, recursive: true);
        }
    }

    [Fact]
    public async Task WriteAsync_Throws_WhenASeedRepeatsOrTheFolderIsNotEmpty()
    {
        var top = Directory.CreateTempSubdirectory("concerto-synthset-bad-").FullName;
        try
        {
            var repeated = new SyntheticTrainingSettings { ScenesBySplit = new Dictionary<string, int[]> { ["train"] = [1, 2], ["val"] = [2] } };
            var error = await Assert.ThrowsAsync<ArgumentException>(() => SyntheticTrainingSet.WriteAsync(Path.Combine(top, "x"), repeated, CancellationToken.None));
            Assert.Contains("seed 2", error.Message, StringComparison.Ordinal);
            await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() =>
                SyntheticTrainingSet.WriteAsync(Path.Combine(top, "y"), new SyntheticTrainingSettings { ImagesPerSegment = 5 }, CancellationToken.None));

            await File.WriteAllTextAsync(Path.Combine(top, "keep.txt"), "x");
            await Assert.ThrowsAsync<IOException>(() => SyntheticTrainingSet.WriteAsync(top, new SyntheticTrainingSettings(), CancellationToken.None));
            Assert.Equal(["keep.txt"], Directory.EnumerateFileSystemEntries(top).Select(Path.GetFileName));
        }
        finally
        {
            Directory.Delete(top, recursive: true);
        }
    }

    [Fact]
    public async Task WriteAsync_LeavesNothing_WhenCancelled()
    {
        var top = Directory.CreateTempSubdirectory("concerto-synthset-cancel-").FullName;
        try
        {
            using var cancelled = new CancellationTokenSource();
            await cancelled.CancelAsync();
            await Assert.ThrowsAnyAsync<OperationCanceledException>(() =>
                SyntheticTrainingSet.WriteAsync(Path.Combine(top, "set"), new SyntheticTrainingSettings(), cancelled.Token));
            Assert.Empty(Directory.EnumerateFileSystemEntries(top));
        }
        finally
        {
            Directory.Delete(top, recursive: true);
        }
    }

    private static double MeanCosine(List<float[]> a, List<float[]> b)
    {
        // At most 100 x 100 pairs, spread over each list; a vector is not paired with itself.
        var ia = Spread(a.Count);
        var ib = Spread(b.Count);
        double sum = 0;
        var count = 0;
        foreach (var i in ia)
        foreach (var j in ib)
        {
            if (ReferenceEquals(a[i], b[j])) continue;
            sum += Cosine(a[i], b[j]);
            count++;
        }

        return sum / count;
    }

    private static IEnumerable<int> Spread(int count) => Enumerable.Range(0, Math.Min(count, 100)).Select(i => (int)((long)i * count / Math.Min(count, 100)));

    private static double Cosine(float[] a, float[] b)
    {
        double dot = 0, na = 0, nb = 0;
        for (var i = 0; i < a.Length; i++)
        {
            dot += a[i] * b[i];
            na += a[i] * a[i];
            nb += b[i] * b[i];
        }

        return dot / Math.Sqrt(na * nb);
    }

    private static SortedDictionary<string, string> Hashes(string folder) =>
        new(Directory.EnumerateFiles(folder, "*", SearchOption.AllDirectories)
            .ToDictionary(f => Path.GetRelativePath(folder, f).Replace('\\', '/'), f => Convert.ToHexString(SHA256.HashData(File.ReadAllBytes(f)))),
            StringComparer.Ordinal);
}
