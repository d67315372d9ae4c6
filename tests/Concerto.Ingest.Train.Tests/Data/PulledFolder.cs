using System.Globalization;
using Concerto.Ingest.Formats.Arrays;
using Concerto.Ingest.Formats.Manifests;

namespace Concerto.Ingest.Train.Tests.Data;

/// <summary>A small folder laid out as `concerto dataset pull` writes it, with values derived from (segment, point,
/// axis) so tests can check them: train/seg-a (5 points, int32 labels, features), train/seg-b (3 points, int64 labels,
/// features), val/seg-c (4 points, no labels, no features); 4 images each, image 2 with no correspondences.</summary>
internal sealed class PulledFolder : IDisposable
{
    public const int FeatureWidth = 8;
    public const int Patches = 1369;

    public PulledFolder(string? name = null)
    {
        Root = Path.Combine(Path.GetTempPath(), "concerto-loader-tests-" + Guid.NewGuid().ToString("N"), name ?? "pulled");
        Segments =
        [
            new("seg-a", "train", 5, LabelKind.Int32, Features: true),
            new("seg-b", "train", 3, LabelKind.Int64, Features: true),
            new("seg-c", "val", 4, LabelKind.None, Features: false),
        ];
        foreach (var segment in Segments) Write(segment);
    }

    public enum LabelKind { None, Int32, Int64 }

    public sealed record SegmentSpec(string Key, string Split, int Points, LabelKind Labels, bool Features)
    {
        public int Id => Key[^1] - 'a';
        public string Cloud => $"{Split}/{Key}";
        public string ImageSide => $"images/{Split}/{Key}";
    }

    public string Root { get; }
    public IReadOnlyList<SegmentSpec> Segments { get; }
    public string ManifestPath => Path.Combine(Root, "manifest.parquet");

    public static float Coord(int segment, int point, int axis) => segment * 100 + point + axis * 0.25f;
    public static byte Color(int segment, int point, int axis) => (byte)(segment * 50 + point * 3 + axis);
    public static float Normal(int segment, int point, int axis) => axis == 2 ? 1 - point * 0.125f : -segment - axis * 0.5f;
    public static int Label(int segment, int point) => point % 3 == 2 ? -1 : segment * 10 + point;
    public static Half Feature(int segment, int image, int patch, int channel) => (Half)((segment * 4 + image + patch * 0.5f + channel * 0.125f) % 64);
    public static (int Width, int Height) Size(int image) => (640 + image, 480 - image);

    /// <summary>Image i of a segment corresponds to points (j, ...) as rows (u, v, point); image 2 to none.</summary>
    public static float[] Correspondence(SegmentSpec s, int image) =>
        image == 2 ? [] : Enumerable.Range(0, s.Points).Where(p => (p + image) % 2 == 0).SelectMany(p => new float[] { 10 * p + image, 20 * p, p }).ToArray();

    public string PathOf(string relative) => Path.Combine(Root, relative.Replace('/', Path.DirectorySeparatorChar));

    public IReadOnlyList<ManifestRow> Rows(Func<string, string> uri) => Segments.Select(s => new ManifestRow
    {
        DatasetName = "tiny",
        DatasetVersion = 1,
        SegmentId = 100 + s.Id,
        SceneId = s.Key,
        RunId = 7,
        VideoSha256 = "00",
        SourcePath = "video.mp4",
        Split = s.Split,
        PointCloudUri = uri(s.Cloud),
        Points = s.Points,
        ImageUris = Images(i => uri($"{s.ImageSide}/color/{i}.jpg")),
        CorrespondenceUris = Images(i => uri($"{s.ImageSide}/correspondence/{i}.npy")),
        FeatureUris = s.Features ? Images(i => uri($"{s.ImageSide}/feature/{i}.npy")) : null,
        CameraToWorld = Images(_ => Enumerable.Range(0, 16).Select(k => k % 5 == 0 ? 1.0 : 0.0).ToArray()),
        Intrinsics = Images(i => new double[] { 500, 500, 320, 240, Size(i).Width, Size(i).Height }),
        FrameIndices = Images(i => 10 * i),
    }).ToList();

    /// <summary>Writes manifest.parquet with URIs relative to the folder, as pull does.</summary>
    public Task WriteManifestAsync() => ManifestWriter.WriteAsync(ManifestPath, ManifestFormat.Parquet, Rows(relative => relative), CancellationToken.None);

    public void Dispose()
    {
        var top = Path.GetDirectoryName(Root)!;
        if (Directory.Exists(top)) Directory.Delete(top, recursive: true);
    }

    private static List<T> Images<T>(Func<int, T> make) => Enumerable.Range(0, 4).Select(make).ToList();

    private void Write(SegmentSpec s)
    {
        var cloud = PathOf(s.Cloud);
        Directory.CreateDirectory(cloud);
        var n = s.Points;
        Npy.Write<float>(Path.Combine(cloud, "coord.npy"), Values(n, (p, a) => Coord(s.Id, p, a)), n, 3);
        Npy.Write<byte>(Path.Combine(cloud, "color.npy"), Values(n, (p, a) => Color(s.Id, p, a)), n, 3);
        Npy.Write<float>(Path.Combine(cloud, "normal.npy"), Values(n, (p, a) => Normal(s.Id, p, a)), n, 3);
        if (s.Labels == LabelKind.Int32) Npy.Write<int>(Path.Combine(cloud, "segment.npy"), Enumerable.Range(0, n).Select(p => Label(s.Id, p)).ToArray(), n);
        if (s.Labels == LabelKind.Int64) Npy.Write<long>(Path.Combine(cloud, "segment.npy"), Enumerable.Range(0, n).Select(p => (long)Label(s.Id, p)).ToArray(), n);

        foreach (var sub in new[] { "color", "correspondence", "pose", "intrinsic", "feature" }) Directory.CreateDirectory(PathOf($"{s.ImageSide}/{sub}"));
        for (var i = 0; i < 4; i++)
        {
            var name = i.ToString(CultureInfo.InvariantCulture);
            File.WriteAllBytes(PathOf($"{s.ImageSide}/color/{name}.jpg"), [0xFF, 0xD8, 0xFF, 0xD9]);
            var rows = Correspondence(s, i) is { Length: > 0 } c ? c : [-1, -1, -1];
            Npy.Write<float>(PathOf($"{s.ImageSide}/correspondence/{name}.npy"), rows, rows.Length / 3, 3);
            Npy.Write<float>(PathOf($"{s.ImageSide}/pose/{name}.npy"), Enumerable.Range(0, 16).Select(k => k % 5 == 0 ? 1f : 0f).ToArray(), 4, 4);
            Npy.Write<float>(PathOf($"{s.ImageSide}/intrinsic/{name}.npy"), [500, 0, 320, 0, 500, 240, 0, 0, 1], 3, 3);
            if (s.Features)
            {
                var feature = new Half[Patches * FeatureWidth];
                for (var p = 0; p < Patches; p++)
                for (var ch = 0; ch < FeatureWidth; ch++)
                    feature[p * FeatureWidth + ch] = Feature(s.Id, i, p, ch);
                Npy.Write<Half>(PathOf($"{s.ImageSide}/feature/{name}.npy"), feature, Patches, FeatureWidth);
            }
        }
    }

    private static T[] Values<T>(int n, Func<int, int, T> value)
    {
        var data = new T[3 * n];
        for (var p = 0; p < n; p++)
        for (var a = 0; a < 3; a++)
            data[3 * p + a] = value(p, a);
        return data;
    }
}
