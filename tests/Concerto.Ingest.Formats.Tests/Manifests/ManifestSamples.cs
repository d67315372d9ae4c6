using Concerto.Ingest.Formats.Manifests;

namespace Concerto.Ingest.Formats.Tests.Manifests;

/// <summary>Deterministic manifest rows with awkward values: non-terminating binary fractions, extremes, -0.</summary>
internal static class ManifestSamples
{
    public static ManifestRow Row(long id, int images = 4, bool features = true, IReadOnlyDictionary<string, double>? metrics = null)
    {
        var scene = $"run{id % 7}";
        return new ManifestRow
        {
            DatasetName = "indoor-v1",
            DatasetVersion = 3,
            SegmentId = id,
            SceneId = scene,
            RunId = 1000 + (id % 7),
            VideoSha256 = $"{id % 7:x2}" + new string('a', 62),
            SourcePath = $"/data/videos/{scene} (take+1)/clip é.mp4",
            Split = id % 5 == 0 ? "val" : "train",
            PointCloudUri = $"s3://concerto/segments/{id}/points.npy",
            Points = 40_000 + (int)(id % 1000),
            ImageUris = Enumerable.Range(0, images).Select(i => $"s3://concerto/segments/{id}/image_{i}.jpg").ToArray(),
            CorrespondenceUris = Enumerable.Range(0, images).Select(i => $"s3://concerto/segments/{id}/corr_{i}.npy").ToArray(),
            FeatureUris = features ? Enumerable.Range(0, images).Select(i => $"s3://concerto/segments/{id}/feat_{i}.npy").ToArray() : null,
            CameraToWorld = Enumerable.Range(0, images).Select(i => Pose(id, i)).ToArray(),
            Intrinsics = Enumerable.Range(0, images).Select(i => new[] { 500.1 + i, 500.2 + i, 259.5, 194.5, 518, 388 + id % 3 }).ToArray(),
            FrameIndices = Enumerable.Range(0, images).Select(i => (int)(id * 10 + i * 3)).ToArray(),
            Metrics = metrics ?? new Dictionary<string, double>
            {
                ["visible_fraction_mean"] = 0.1 + id * 1e-6,
                ["coverage_min"] = 1.0 / 3.0,
                ["overlap_max"] = 0.7,
            },
        };
    }

    /// <summary>A row-major 4x4 pose whose entries are all different and not exactly representable in decimal.</summary>
    public static double[] Pose(long id, int image)
    {
        var pose = new double[16];
        for (var k = 0; k < 16; k++) pose[k] = Math.Sin(id * 16 + image * 4 + k + 1) * (k % 4 == 3 ? 12.5 : 1);
        pose[12] = 0;
        pose[13] = -0.0;
        pose[14] = 0;
        pose[15] = 1;
        if (image == 1) pose[3] = 1e-300;
        if (image == 2) pose[7] = 0.1 + 0.2;
        if (image == 3) pose[11] = double.MaxValue;
        return pose;
    }

    /// <summary>Rows with 1 to 4 images, features present and absent, and different metric keys per row.</summary>
    public static List<ManifestRow> Mixed() =>
    [
        Row(1, images: 4, features: true),
        Row(2, images: 1, features: false),
        Row(3, images: 2, features: true, metrics: new Dictionary<string, double> { ["coverage_min"] = 0.25 }),
        Row(4, images: 3, features: false, metrics: new Dictionary<string, double>()),
        Row(5, images: 4, features: false, metrics: new Dictionary<string, double> { ["blur_p90"] = 12.75, ["overlap_max"] = -0.0 }),
    ];

    public static void AssertSame(ManifestRow expected, ManifestRow actual)
    {
        Assert.Equal(expected.DatasetName, actual.DatasetName);
        Assert.Equal(expected.DatasetVersion, actual.DatasetVersion);
        Assert.Equal(expected.SegmentId, actual.SegmentId);
        Assert.Equal(expected.SceneId, actual.SceneId);
        Assert.Equal(expected.RunId, actual.RunId);
        Assert.Equal(expected.VideoSha256, actual.VideoSha256);
        Assert.Equal(expected.SourcePath, actual.SourcePath);
        Assert.Equal(expected.Split, actual.Split);
        Assert.Equal(expected.PointCloudUri, actual.PointCloudUri);
        Assert.Equal(expected.Points, actual.Points);
        Assert.Equal(expected.ImageUris, actual.ImageUris);
        Assert.Equal(expected.CorrespondenceUris, actual.CorrespondenceUris);
        if (expected.FeatureUris is null) Assert.Null(actual.FeatureUris);
        else Assert.Equal(expected.FeatureUris, actual.FeatureUris);
        Assert.Equal(expected.FrameIndices, actual.FrameIndices);
        AssertBits(expected.CameraToWorld, actual.CameraToWorld);
        AssertBits(expected.Intrinsics, actual.Intrinsics);
        Assert.Equal(expected.Metrics.OrderBy(m => m.Key, StringComparer.Ordinal).Select(m => (m.Key, Bits(m.Value))),
            actual.Metrics.OrderBy(m => m.Key, StringComparer.Ordinal).Select(m => (m.Key, Bits(m.Value))));
    }

    /// <summary>Exact comparison, down to the sign of zero.</summary>
    public static void AssertBits(IReadOnlyList<double[]> expected, IReadOnlyList<double[]> actual)
    {
        Assert.Equal(expected.Count, actual.Count);
        for (var i = 0; i < expected.Count; i++) Assert.Equal(expected[i].Select(Bits), actual[i].Select(Bits));
    }

    public static long Bits(double value) => BitConverter.DoubleToInt64Bits(value);
}
