using System.Diagnostics;
using System.Globalization;
using Concerto.Ingest.Core.Profiles;
using Concerto.Ingest.Segments.Building;
using Concerto.Ingest.Segments.Export;
using Concerto.Ingest.Segments.Labels;
using Concerto.Ingest.Segments.Scenes;
using Concerto.Ingest.Segments.Selection;
using Concerto.Ingest.Segments.Visibility;

namespace Concerto.Ingest.Segments.Pipeline;

/// <summary>A scene's segments, each written to <see cref="FolderName"/> under the output folder.</summary>
/// <param name="Projections">Point-view projections made (points x views): the visibility workload.</param>
public sealed record SegmentationResult(IReadOnlyList<Segment> Segments, bool Labelled, long Projections, TimeSpan VisibilityTime, TimeSpan BuildTime)
{
    public static string FolderName(int ordinal) => "s" + ordinal.ToString("D4", CultureInfo.InvariantCulture);
}

/// <summary>The segment stage's work on one scene: depth-tested visibility per keyframe, labels voted from label images
/// when the source has them, view groups, and each group's segment written in the Pointcept layout.</summary>
public static class SceneSegmenter
{
    /// <param name="pointSpacing">The scene cloud's point spacing (the fusion voxel in scene units).</param>
    /// <param name="labels">Label image of view v, or null (no labels for that view); null for a source without labels.</param>
    /// <param name="progress">(steps done, steps): one step per view, then one per segment.</param>
    public static SegmentationResult Run(SceneCloud cloud, IReadOnlyList<SceneView> views, SegmentSettings settings, double pointSpacing,
        Func<int, LabelImage?>? labels, string outputFolder, IProgress<(long Done, long Total)>? progress, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(cloud);
        ArgumentNullException.ThrowIfNull(views);
        ArgumentNullException.ThrowIfNull(settings);
        var visibilitySettings = new VisibilitySettings(pointSpacing);
        var clock = Stopwatch.StartNew();
        var visibility = new ViewVisibility[views.Count];
        var done = 0;
        Parallel.For(0, views.Count, new ParallelOptions { CancellationToken = cancellationToken }, v =>
        {
            visibility[v] = ViewVisibility.Compute(cloud, views[v], visibilitySettings);
            progress?.Report((Interlocked.Increment(ref done), views.Count));
        });
        var visibilityTime = clock.Elapsed;

        var labelled = false;
        if (labels is not null)
        {
            var images = Enumerable.Range(0, views.Count).Select(labels).ToArray();
            if (images.Any(i => i is not null))
            {
                var (semantic, instance) = LabelTransfer.Vote(cloud.Count, views, visibility, images);
                cloud = new SceneCloud(cloud.Coord, cloud.Color, cloud.Normal, semantic, instance);
                labelled = true;
            }
        }

        clock.Restart();
        var groups = ViewGroupSelector.Select(views, visibility, cloud.Count, settings);
        var segments = new List<Segment>(groups.Count);
        foreach (var group in groups)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var segment = SegmentBuilder.Build(cloud, views, visibility, group, settings.GridSize, settings.Cloud);
            SegmentFiles.Write(Path.Combine(outputFolder, SegmentationResult.FolderName(segments.Count)), cloud, segment);
            segments.Add(segment);
            progress?.Report((views.Count + segments.Count, views.Count + groups.Count));
        }

        return new SegmentationResult(segments, labelled, (long)cloud.Count * views.Count, visibilityTime, clock.Elapsed);
    }
}
