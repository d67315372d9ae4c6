using Concerto.Ingest.Train.Data;

namespace Concerto.Ingest.Train.Views;

/// <summary>Everything the view pipeline needs; <see cref="Sonata"/> and <see cref="Concerto"/> carry the spec's values.</summary>
public sealed record ViewPipelineSettings
{
    /// <summary>Sonata (spec section 2): no feature drops, random first global view.</summary>
    public static ViewPipelineSettings Sonata { get; } = new();

    /// <summary>Concerto (spec section 3): drop colour and drop normal (ratio 1.0, p 0.2) then (ratio 0.2, p 0.5), and
    /// the first global view is the major view when the sample has correspondences.</summary>
    public static ViewPipelineSettings Concerto { get; } = new()
    {
        ColorDrops = [new(1.0, 0.2), new(0.2, 0.5)],
        NormalDrops = [new(1.0, 0.2), new(0.2, 0.5)],
        UseMajorView = true,
    };

    public double GridSize { get; init; } = 0.02;
    public SonataViewSettings Views { get; init; } = SonataViewSettings.Default;
    public ColorAugmentationSettings Color { get; init; } = ColorAugmentationSettings.Default;
    public GeometryAugmentationSettings Geometry { get; init; } = GeometryAugmentationSettings.Default;
    public IReadOnlyList<FeatureDrop> ColorDrops { get; init; } = [];
    public IReadOnlyList<FeatureDrop> NormalDrops { get; init; } = [];

    /// <summary>Make the first global view Concerto's major view (the reference generator does: its size is then
    /// min(<see cref="MajorViewMaxPoints"/>, N), not a random fraction).</summary>
    public bool UseMajorView { get; init; }

    public int MajorViewMaxPoints { get; init; } = MajorView.DefaultMaxPoints;
}

/// <summary>An augmented view and its points' coordinates before geometry augmentation (the grid-sampled scene
/// coordinates), on which Sonata matches points across views by 1-NN.</summary>
public sealed record AugmentedView(PointSample View, float[] OriginCoord);

/// <summary>One sample's views. <see cref="Images"/> index points of <c>Global[0]</c> (the major view) and is empty
/// when no major view was made.</summary>
public sealed record ViewSet(IReadOnlyList<AugmentedView> Global, IReadOnlyList<AugmentedView> Local, IReadOnlyList<ViewImage> Images);

/// <summary>Sonata's (and Concerto's) view generation for one sample, as the reference pipeline orders it:
/// grid sample (one random point per voxel) -> Concerto's feature drops -> view plan (first global view = major view
/// when asked) -> one colour augmentation of the whole cloud shared by all global views (same parameters, contrast
/// mean over the cloud) -> per global view: geometry augmentation; per local view (cut from the un-augmented colours):
/// geometry augmentation then its own colour augmentation. The input sample is never modified.</summary>
public static class SonataViewPipeline
{
    public static ViewSet Make(PointSample sample, Random random, ViewPipelineSettings settings)
    {
        ArgumentNullException.ThrowIfNull(sample);
        ArgumentNullException.ThrowIfNull(random);
        ArgumentNullException.ThrowIfNull(settings);
        var cloud = GridSample.Random(sample, settings.GridSize, random);
        cloud = ViewAugmentation.Drop(cloud, random, settings.ColorDrops, settings.NormalDrops);

        int[]? major = settings.UseMajorView ? MajorView.Select(cloud, settings.MajorViewMaxPoints) : null;
        var images = major is null ? [] : MajorView.Remap(cloud, major);
        var plan = SonataViews.Plan(cloud.Coord, random, settings.Views, major);

        var shared = ViewAugmentation.Color(cloud, random, settings.Color);
        var global = new AugmentedView[plan.Global.Length];
        for (var g = 0; g < global.Length; g++)
        {
            var view = PointSubset.Take(shared, plan.Global[g]);
            global[g] = new AugmentedView(ViewAugmentation.Geometry(view, random, settings.Geometry), view.Coord);
        }

        var local = new AugmentedView[plan.Local.Length];
        for (var l = 0; l < local.Length; l++)
        {
            var view = PointSubset.Take(cloud, plan.Local[l]);
            var augmented = ViewAugmentation.Color(ViewAugmentation.Geometry(view, random, settings.Geometry), random, settings.Color);
            local[l] = new AugmentedView(augmented, view.Coord);
        }

        return new ViewSet(global, local, images);
    }
}
