using System.Diagnostics;
using System.Globalization;
using System.Security.Cryptography;
using Concerto.Ingest.Core.Datasets;
using Concerto.Ingest.Formats.Arrays;
using Concerto.Ingest.Formats.Datasets;
using Concerto.Ingest.Formats.Manifests;
using Concerto.Ingest.Formats.PointClouds;
using Concerto.Ingest.Synthetic.Rendering;
using Concerto.Ingest.Synthetic.Scenes;
using OpenCvSharp;

namespace Concerto.Ingest.Synthetic.Training;

/// <summary>
/// Writes a synthetic training dataset in exactly the layout `concerto dataset pull` writes (spec section 4 plus
/// manifest.parquet and dataset.json), so trainers, their tests and `concerto bench pretrain` can train and linear-probe
/// without running the ingestion pipeline.
/// </summary>
/// <remarks>
/// <para>Each scene seed is a procedural room (<see cref="SceneGenerator"/>). Each of its segments samples the room's
/// surfaces (<see cref="GroundTruthCloud"/>, <see cref="SyntheticTrainingSettings.PointsPerSegment"/> points) and keeps
/// those in a box 2-3 m across around a furniture or floor point, below the ceiling, chosen to hold at least three
/// classes where it can. Cameras stand 1.0-2.5 m from the segment's centroid at 1.3-1.7 m height, looking at it
/// (<see cref="SyntheticTrainingSettings.FieldOfViewDegrees"/>, principal point at the image centre). Each image is
/// ray-cast by <see cref="FrameRenderer"/> (colour = the same shading the points carry); a segment point is visible when
/// its depth is within a small tolerance of the frame's depth at its rounded pixel, and each pixel that sees segment
/// points gives one correspondence row (its centre, the nearest such point).</para>
/// <para>Files, for segment key <c>synth&lt;seed&gt;-s&lt;k&gt;</c> in split S: <c>S/key/coord.npy</c> float32 N x 3,
/// <c>color.npy</c> uint8 N x 3, <c>normal.npy</c> float32 N x 3, and with labels <c>segment.npy</c> int32 N
/// (<see cref="SemanticClass"/> ids) and <c>instance.npy</c> int32 N; <c>images/S/key/color/i.png</c>,
/// <c>correspondence/i.npy</c> float32 M x 3 ([[-1, -1, -1]] when empty), <c>pose/i.npy</c> float32 4 x 4
/// camera-to-world (OpenCV axes), <c>intrinsic/i.npy</c> float32 3 x 3, <c>feature/i.npy</c> float16 (grid tokens, 1369 by default) x width from
/// the <see cref="SyntheticTeacher"/> (a synthetic semantic teacher, not DINOv2); <c>splits/S.json</c>,
/// <c>manifest.parquet</c> (the real <see cref="ManifestWriter"/>, paths relative to the folder) and
/// <c>dataset.json</c>, as the exporter writes them.</para>
/// <para>The output depends only on the settings (<see cref="SyntheticTrainingSettings.MaxParallelism"/> aside, which
/// changes nothing): writing twice gives the same bytes. dataset.json's createdAt is fixed at the Unix epoch for that.</para>
/// </remarks>
public static class SyntheticTrainingSet
{
    /// <summary>The teacher name dataset.json records.</summary>
    public static string TeacherName(int featureWidth) => $"synthetic-semantic-{featureWidth.ToString(CultureInfo.InvariantCulture)}";

    /// <summary>The key of segment <paramref name="segment"/> of room <paramref name="sceneSeed"/>.</summary>
    public static string SegmentKey(int sceneSeed, int segment) =>
        string.Create(CultureInfo.InvariantCulture, $"synth{sceneSeed}-s{segment}");

    /// <summary>The room (scene seed) of a <see cref="SegmentKey"/>, or null for any other key.</summary>
    public static int? RoomOf(string segmentKey)
    {
        ArgumentNullException.ThrowIfNull(segmentKey);
        var dash = segmentKey.LastIndexOf("-s", StringComparison.Ordinal);
        return segmentKey.StartsWith("synth", StringComparison.Ordinal) && dash > 5
               && int.TryParse(segmentKey.AsSpan(5, dash - 5), NumberStyles.None, CultureInfo.InvariantCulture, out var room) ? room : null;
    }

    /// <summary>Writes the set into <paramref name="folder"/>, which must not exist or be empty. Written in a sibling
    /// staging folder and moved into place, so a failed or cancelled write leaves nothing behind.</summary>
    /// <exception cref="ArgumentException">The settings cannot work (the message says which and why).</exception>
    /// <exception cref="IOException">The folder exists and is not empty.</exception>
    public static async Task<SyntheticTrainingSummary> WriteAsync(string folder, SyntheticTrainingSettings settings, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(folder);
        ArgumentNullException.ThrowIfNull(settings);
        settings.Validate();
        var clock = Stopwatch.StartNew();
        return await DatasetLayout.WriteStagedAsync(folder, async staging =>
        {
            var jobs = Jobs(settings);
            var teacher = new SyntheticTeacher(settings.FeatureWidth, settings.FeatureSeed, settings.FeatureNoise, settings.FeatureGrid);
            var written = new WrittenSegment[jobs.Count];
            var options = new ParallelOptions
            {
                CancellationToken = cancellationToken,
                MaxDegreeOfParallelism = settings.MaxParallelism ?? Environment.ProcessorCount,
            };
            try
            {
                Parallel.For(0, jobs.Count, options, j => written[j] = WriteSegment(staging, jobs[j], teacher, settings, cancellationToken));
            }
            catch (AggregateException e) when (e.InnerExceptions.Count == 1)
            {
                System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(e.InnerExceptions[0]); // the segment's own error
            }

            await DatasetLayout.WriteSplitsAsync(staging,
                written.Select(s => (s.Job.Split, s.Job.Key, new SplitEntry(s.Job.Cloud, s.Row.ImageUris, s.Row.CorrespondenceUris))), cancellationToken);
            var rows = written.Select((s, i) => s.Row with { SegmentId = i + 1 }).ToList();
            var manifest = Path.Combine(staging, DatasetLayout.ManifestFile);
            await ManifestWriter.WriteAsync(manifest, ManifestFormat.Parquet, rows, cancellationToken);
            var counts = new SortedDictionary<string, int>(
                written.GroupBy(s => s.Job.Split, StringComparer.Ordinal).ToDictionary(g => g.Key, g => g.Count(), StringComparer.Ordinal), StringComparer.Ordinal);
            await DatasetVersionFile.WriteAsync(staging, VersionDescription(settings, counts, written.Length, manifest), cancellationToken);

            var bytes = Directory.EnumerateFiles(staging, "*", SearchOption.AllDirectories).Sum(f => new FileInfo(f).Length);
            return new SyntheticTrainingSummary(Path.GetFullPath(folder), written.Length, counts, written.Sum(s => (long)s.Row.Points),
                written.Sum(s => s.Correspondences), bytes, clock.Elapsed);
        });
    }

    /// <summary><see cref="WriteAsync"/> for synchronous callers (no synchronization context is involved).</summary>
    public static SyntheticTrainingSummary Write(string folder, SyntheticTrainingSettings settings, CancellationToken cancellationToken) =>
        WriteAsync(folder, settings, cancellationToken).GetAwaiter().GetResult();

    /// <summary>One segment to write: split, room seed, segment number within the room, and its place in the layout.</summary>
    private sealed record SegmentJob(string Split, int SceneSeed, int Index)
    {
        public string Key => SegmentKey(SceneSeed, Index);
        public string Cloud => DatasetLayout.CloudFolder(Split, Key);
        public string ImageSide => DatasetLayout.ImageSide(Split, Key);
    }

    private sealed record WrittenSegment(SegmentJob Job, ManifestRow Row, long Correspondences);

    /// <summary>Splits in ordinal order, rooms in the order given, segments ascending: the manifest's row order.</summary>
    private static List<SegmentJob> Jobs(SyntheticTrainingSettings settings) =>
    [
        .. from split in settings.ScenesBySplit.Keys.Order(StringComparer.Ordinal)
           from seed in settings.ScenesBySplit[split]
           from k in Enumerable.Range(0, settings.SegmentsPerScene)
           select new SegmentJob(split, seed, k),
    ];

    private static WrittenSegment WriteSegment(string root, SegmentJob job, SyntheticTeacher teacher, SyntheticTrainingSettings settings,
        CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        var scene = SceneGenerator.Generate(job.SceneSeed);
        var room = GroundTruthCloud.Sample(scene, settings.PointsPerSegment, Mix(job.SceneSeed, job.Index, 1));
        var segment = SyntheticSegmenter.Cut(scene, room, new Random(Mix(job.SceneSeed, job.Index, 2)), settings, cancellationToken);
        var cloud = new PointCloudArrays(room.Coord, room.Color, room.Normal, room.Segment, room.Instance).Select(segment.Points);
        PointCloudFiles.Write(Path.Combine(root, job.Cloud), settings.IncludeLabels ? cloud : cloud with { Segment = null, Instance = null });

        var side = Path.Combine(root, job.ImageSide);
        Directory.CreateDirectory(Path.Combine(side, SegmentImageFiles.FeatureFolder));
        var images = segment.Images;
        for (var i = 0; i < images.Count; i++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var image = images[i];
            SegmentImageFiles.WriteCamera(side, i, image.Correspondences == 0 ? [] : image.Rows, image.CameraToWorld.ToMatrix4(), image.Intrinsics.ToMatrix3());
            WritePng(Path.Combine(side, SegmentImageFiles.ColorFolder, SegmentImageFiles.Name(i) + ".png"), image.Frame);
            var features = teacher.Featurize(image.Frame, Mix(settings.FeatureSeed, Mix(job.SceneSeed, job.Index, 3), i));
            Npy.Write<Half>(Path.Combine(side, SegmentImageFiles.Feature(i)), features, teacher.Grid.Tokens, teacher.Width);
        }

        var correspondences = images.Sum(i => (long)i.Correspondences);
        var row = new ManifestRow
        {
            DatasetName = settings.DatasetName,
            DatasetVersion = 1,
            SegmentId = 0, // numbered in manifest order by the caller
            SceneId = job.Key,
            RunId = job.SceneSeed,
            VideoSha256 = Convert.ToHexStringLower(SHA256.HashData(System.Text.Encoding.UTF8.GetBytes("synthetic room " + job.Key))),
            SourcePath = string.Create(CultureInfo.InvariantCulture, $"synthetic://room/{job.SceneSeed}"),
            Split = job.Split,
            PointCloudUri = job.Cloud,
            Points = segment.Points.Length,
            ImageUris = Each(images, i => $"{job.ImageSide}/{SegmentImageFiles.ColorFolder}/{SegmentImageFiles.Name(i)}.png"),
            CorrespondenceUris = Each(images, i => $"{job.ImageSide}/{SegmentImageFiles.Correspondence(i)}"),
            FeatureUris = Each(images, i => $"{job.ImageSide}/{SegmentImageFiles.Feature(i)}"),
            CameraToWorld = images.Select(i => i.CameraToWorld.ToMatrix4()).ToList(),
            Intrinsics = images.Select(i => new double[] { i.Intrinsics.Fx, i.Intrinsics.Fy, i.Intrinsics.Cx, i.Intrinsics.Cy, i.Intrinsics.Width, i.Intrinsics.Height })
                .ToList(),
            FrameIndices = Enumerable.Range(0, images.Count).ToList(),
            Metrics = Metrics(segment, correspondences, settings.IncludeLabels),
        };
        return new WrittenSegment(job, row, correspondences);
    }

    private static List<string> Each(IReadOnlyList<SyntheticImage> images, Func<int, string> path) =>
        Enumerable.Range(0, images.Count).Select(path).ToList();

    /// <summary>The pipeline's segment metrics that apply here (overlap between segments does not: each segment samples
    /// its room afresh).</summary>
    private static Dictionary<string, double> Metrics(SyntheticSegment segment, long correspondences, bool labelled)
    {
        var images = segment.Images;
        double covisibility = double.PositiveInfinity, baseline = double.PositiveInfinity;
        for (var a = 0; a < images.Count; a++)
        for (var b = a + 1; b < images.Count; b++)
        {
            var smaller = Math.Min(images[a].Visible.Length, images[b].Visible.Length);
            var shared = images[a].Visible.Intersect(images[b].Visible).Count();
            covisibility = Math.Min(covisibility, smaller == 0 ? 0 : (double)shared / smaller);
            baseline = Math.Min(baseline, (images[a].CameraToWorld.T - images[b].CameraToWorld.T).Length);
        }

        var n = Math.Max(1, segment.Points.Length);
        return new Dictionary<string, double>
        {
            ["correspondences"] = correspondences,
            ["covisibility_min"] = images.Count < 2 ? 0 : covisibility,
            ["baseline_min"] = images.Count < 2 ? 0 : baseline,
            ["coverage_mean"] = images.Average(i => i.Coverage),
            ["coverage_min"] = images.Min(i => i.Coverage),
            ["visible_fraction_mean"] = images.Average(i => (double)i.Visible.Length / n),
            ["labelled"] = labelled ? 1 : 0,
        };
    }

    private static void WritePng(string path, RenderedFrame frame)
    {
        var bgr = new byte[frame.Rgb.Length];
        for (var i = 0; i < bgr.Length; i += 3)
        {
            bgr[i] = frame.Rgb[i + 2];
            bgr[i + 1] = frame.Rgb[i + 1];
            bgr[i + 2] = frame.Rgb[i];
        }

        using var image = Mat.FromPixelData(frame.Height, frame.Width, MatType.CV_8UC3, bgr);
        if (!Cv2.ImWrite(path, image, [(int)ImwriteFlags.PngCompression, 3])) throw new IOException($"OpenCV could not write {path}");
    }

    private static object VersionDescription(SyntheticTrainingSettings settings, IReadOnlyDictionary<string, int> counts, int segments, string manifest)
    {
        var hash = Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(manifest)));
        return new
        {
            name = settings.DatasetName,
            version = 1,
            filter = (string?)null,
            splits = counts.Select(c => new { name = c.Key, fraction = (double)c.Value / segments }).ToList(),
            seed = settings.FeatureSeed,
            segments,
            counts,
            hash,
            teacher = TeacherName(settings.FeatureWidth),
            teacherGrid = DatasetVersionFile.Describe(settings.FeatureGrid ?? SyntheticTeacher.DefaultGrid),
            createdAt = DateTime.UnixEpoch,
            synthetic = new
            {
                scenesBySplit = new SortedDictionary<string, int[]>(settings.ScenesBySplit.ToDictionary(p => p.Key, p => p.Value, StringComparer.Ordinal), StringComparer.Ordinal),
                settings.SegmentsPerScene,
                settings.PointsPerSegment,
                settings.ImagesPerSegment,
                settings.ImageWidth,
                settings.ImageHeight,
                settings.FieldOfViewDegrees,
                settings.FeatureWidth,
                settings.FeatureSeed,
                settings.FeatureNoise,
                labels = settings.IncludeLabels,
            },
        };
    }

    /// <summary>A seed from three integers (SplitMix64 finaliser), stable across processes, unlike HashCode.</summary>
    internal static int Mix(int a, int b, int c)
    {
        var x = ((ulong)(uint)a << 32 | (uint)b) ^ ((ulong)(uint)c * 0x9E3779B97F4A7C15UL);
        x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9UL;
        x = (x ^ (x >> 27)) * 0x94D049BB133111EBUL;
        x ^= x >> 31;
        return (int)(x ^ (x >> 32));
    }
}
