using Concerto.Ingest.Core.Profiles;
using Concerto.Ingest.Train.CrossModal;
using Concerto.Ingest.Train.Data;
using Concerto.Ingest.Train.Sonata;
using Concerto.Ingest.Train.Views;

namespace Concerto.Ingest.Train.Pretraining;

/// <summary>Turns loaded samples into a <see cref="PretrainBatch"/> on a loader thread: per sample Sonata's (or, with
/// the image branch, Concerto's) views and augmentations, then each augmented view grid-sampled again so its voxels are
/// distinct; the student's global views get cube masks and coordinate noise on masked points, and are serialized,
/// convolved and pooled on the jittered positions (as the official trainer does); the major view's
/// correspondences become patch hits, and its images' teacher features are gathered.</summary>
public sealed class PretrainBatchBuilder(ViewPipelineSettings views, bool crossModal)
{
    public PretrainBatch Build(IReadOnlyList<PointSample> samples, Random random, double maskSize, double maskRatio)
    {
        ArgumentNullException.ThrowIfNull(samples);
        ArgumentNullException.ThrowIfNull(random);
        var global = new List<(PointSample View, float[] Origin, int[] Grid)>();
        var gridCorners = new List<float[]>();
        var local = new List<(PointSample View, float[] Origin, int[] Grid)>();
        var hits = new List<PatchHit>();
        var features = new List<ReadOnlyMemory<Half>>();
        var featureWidth = 0;
        TeacherGrid? grid = null;
        var localPerSample = -1;
        var globalPoints = 0;
        foreach (var sample in samples)
        {
            var set = SonataViewPipeline.Make(sample, random, views);
            if (set.Global.Count != 2) throw new InvalidOperationException($"Sonata needs 2 global views, got {set.Global.Count}");
            if (localPerSample >= 0 && set.Local.Count != localPerSample) throw new InvalidOperationException("every sample needs the same number of local views");
            localPerSample = set.Local.Count;

            var major = Regrid(set.Global[0], random, out var kept, out var majorCorner);
            if (crossModal) CollectHits(sample, set.Images, kept, globalPoints, hits, features, ref featureWidth, ref grid, random);
            global.Add(major);
            global.Add(Regrid(set.Global[1], random, out _, out var secondCorner));
            gridCorners.Add(majorCorner);
            gridCorners.Add(secondCorner);
            globalPoints += major.View.Count + global[^1].View.Count;
            foreach (var view in set.Local) local.Add(Regrid(view, random, out _, out _));
        }

        var teacherBatch = Collate(global, views.GridSize);
        var offsets = OffsetsOf(global);
        var mask = CubeMasking.Mask(teacherBatch.Coord, offsets, maskSize, maskRatio, random);
        var noisy = CubeMasking.ApplyCoordinateNoise(teacherBatch.Coord, mask, random);

        grid ??= TeacherGrid.Dinov2;
        var teacherFeatures = new float[features.Count * grid.Tokens * featureWidth];
        for (var i = 0; i < features.Count; i++)
        {
            var feature = features[i].Span;
            for (var j = 0; j < feature.Length; j++) teacherFeatures[i * feature.Length + j] = (float)feature[j];
        }

        return new PretrainBatch
        {
            Samples = samples.Count,
            Global = teacherBatch,
            MaskedGlobal = new ViewBatch
            {
                // The input features stay the teacher's: a masked point's embedding is the mask token whatever they hold.
                Coord = noisy, Origin = teacherBatch.Origin, Feat = teacherBatch.Feat, Grid = JitteredGrid(noisy, offsets, gridCorners, views.GridSize),
                Batch = teacherBatch.Batch, Mask = mask, GridSize = views.GridSize,
            },
            Local = local.Count > 0 ? Collate(local, views.GridSize) : null,
            LocalViewsPerSample = Math.Max(localPerSample, 0),
            Hits = hits,
            TeacherFeatures = teacherFeatures,
            Images = features.Count,
            FeatureWidth = featureWidth,
            Grid = grid,
        };
    }

    /// <summary>The student's grid coordinates from the jittered positions, view by view: relative to the corner the
    /// teacher's grid uses (the augmented view's minimum), or to the jittered minimum where a masked point moved below
    /// it (Pointcept takes the minimum of the jittered coordinates). Masked points may land in another voxel, or share
    /// one with a neighbour; unmasked points keep the teacher's voxel unless the corner moved.</summary>
    internal static int[] JitteredGrid(float[] noisy, long[] offsets, IReadOnlyList<float[]> corners, double gridSize)
    {
        ArgumentNullException.ThrowIfNull(noisy);
        ArgumentNullException.ThrowIfNull(offsets);
        ArgumentNullException.ThrowIfNull(corners);
        if (corners.Count != offsets.Length) throw new ArgumentException($"{corners.Count} grid corners for {offsets.Length} views", nameof(corners));
        var grid = new int[noisy.Length];
        long start = 0;
        for (var v = 0; v < offsets.Length; v++)
        {
            var view = noisy.AsSpan((int)(3 * start), (int)(3 * (offsets[v] - start)));
            var jittered = GridSample.MinCorner(view);
            float[] corner = [Math.Min(corners[v][0], jittered[0]), Math.Min(corners[v][1], jittered[1]), Math.Min(corners[v][2], jittered[2])];
            GridSample.GridCoords(view, gridSize, corner).CopyTo(grid, 3 * start);
            start = offsets[v];
        }

        return grid;
    }

    /// <summary>One random point per voxel of the augmented view (augmentation moves points across voxel borders),
    /// with origins and grid coordinates; <paramref name="kept"/> says where each of the view's points went (-1:
    /// dropped), for re-mapping correspondences; <paramref name="corner"/> is the minimum the grid is counted from.</summary>
    private (PointSample View, float[] Origin, int[] Grid) Regrid(AugmentedView augmented, Random random, out int[] kept, out float[] corner)
    {
        var indices = GridSample.RandomIndices(augmented.View.Coord, views.GridSize, random);
        corner = GridSample.MinCorner(augmented.View.Coord);
        var grid = GridSample.Subset(GridSample.GridCoords(augmented.View.Coord, views.GridSize, corner), indices);
        kept = new int[augmented.View.Count];
        Array.Fill(kept, -1);
        var origin = new float[3 * indices.Length];
        for (var i = 0; i < indices.Length; i++)
        {
            kept[indices[i]] = i;
            Array.Copy(augmented.OriginCoord, 3 * indices[i], origin, 3 * i, 3);
        }

        return (PointSubset.Take(augmented.View, indices), origin, grid);
    }

    private static void CollectHits(PointSample sample, IReadOnlyList<ViewImage> images, int[] kept, int pointOffset, List<PatchHit> hits,
        List<ReadOnlyMemory<Half>> features, ref int featureWidth, ref TeacherGrid? grid, Random random)
    {
        foreach (var image in images)
        {
            var source = sample.Images[image.ImageIndex];
            if (source.Feature is null) continue;
            if (featureWidth != 0 && source.FeatureWidth != featureWidth)
                throw new InvalidDataException($"segment {sample.Key}: teacher features of width {source.FeatureWidth}, others in the batch have {featureWidth}");
            featureWidth = source.FeatureWidth;
            if (grid is not null && image.Grid != grid)
                throw new InvalidDataException($"segment {sample.Key}: teacher features on a {image.Grid} grid, others in the batch on {grid}");
            grid = image.Grid;
            var tokens = grid.Tokens;
            var imageIndex = features.Count;
            var added = false;
            for (var j = 0; j < image.Rows; j++)
            {
                var point = kept[image.PointIndex[j]];
                if (point < 0) continue;
                hits.Add(new PatchHit(pointOffset + point, imageIndex, image.Patch[j] / grid.Columns, image.Patch[j] % grid.Columns));
                added = true;
            }

            // With augmented copies cached, a fresh one each time (the official teacher augments every step).
            var copy = source.FeatureCopies > 1 ? random.Next(1, source.FeatureCopies) : 0;
            if (added) features.Add(source.Feature.AsMemory(copy * tokens * featureWidth, tokens * featureWidth));
        }
    }

    private static ViewBatch Collate(List<(PointSample View, float[] Origin, int[] Grid)> views, double gridSize)
    {
        var n = views.Sum(v => v.View.Count);
        var coord = new float[3 * n];
        var origin = new float[3 * n];
        var feat = new float[9 * n];
        var grid = new int[3 * n];
        var batch = new int[n];
        var at = 0;
        for (var b = 0; b < views.Count; b++)
        {
            var (view, viewOrigin, viewGrid) = views[b];
            Array.Copy(view.Coord, 0, coord, 3 * at, view.Coord.Length);
            Array.Copy(viewOrigin, 0, origin, 3 * at, viewOrigin.Length);
            ViewFeatures.Build(view, feat.AsSpan(9 * at, 9 * view.Count));
            viewGrid.CopyTo(grid, 3 * at);
            Array.Fill(batch, b, at, view.Count);
            at += view.Count;
        }

        return new ViewBatch { Coord = coord, Origin = origin, Feat = feat, Grid = grid, Batch = batch, GridSize = gridSize };
    }

    private static long[] OffsetsOf(List<(PointSample View, float[] Origin, int[] Grid)> views)
    {
        var offsets = new long[views.Count];
        long end = 0;
        for (var b = 0; b < views.Count; b++) offsets[b] = end += views[b].View.Count;
        return offsets;
    }
}
