using Concerto.Ingest.Train.Data;

namespace Concerto.Ingest.Train.Views;

/// <summary>Sonata's colour augmentation (spec section 2): colour jitter then chromatic translation. The spec's third
/// step, "normalise colour" (the reference's NormalizeColor, colour / 255), is not applied here: samples keep colours
/// in [0, 255] and <see cref="ViewFeatures"/> divides by 255 when it builds the embedding input, so the division
/// happens exactly once.</summary>
public sealed record ColorAugmentationSettings
{
    public static ColorAugmentationSettings Default { get; } = new();

    public double Brightness { get; init; } = 0.4;
    public double Contrast { get; init; } = 0.4;
    public double Saturation { get; init; } = 0.2;
    public double Hue { get; init; } = 0.02;
    public double JitterProbability { get; init; } = 0.8;
    public double TranslationProbability { get; init; } = 0.95;
    public double TranslationRatio { get; init; } = 0.05;
}

/// <summary>One elastic distortion scale: lattice spacing and displacement multiplier, in scene units.</summary>
public readonly record struct ElasticLevel(double Granularity, double Magnitude);

/// <summary>Sonata's per-view geometry augmentation (spec section 2), applied in this order: centre shift, scale,
/// z-rotation, x-rotation, y-rotation, flip, jitter, elastic distortion.</summary>
public sealed record GeometryAugmentationSettings
{
    public static GeometryAugmentationSettings Default { get; } = new();

    public double ScaleMin { get; init; } = 0.9;
    public double ScaleMax { get; init; } = 1.1;
    public double ZMaxAngle { get; init; } = Math.PI;
    public double ZProbability { get; init; } = 0.8;

    /// <summary>Tilt about x and about y, each drawn separately.</summary>
    public double TiltMaxAngle { get; init; } = Math.PI / 64;

    public double TiltProbability { get; init; } = 0.8;
    public double FlipProbability { get; init; } = 0.5;
    public double JitterSigma { get; init; } = 0.005;
    public double JitterClip { get; init; } = 0.02;

    /// <summary>Chance that the elastic levels run at all (0.95 in the reference ElasticDistortion; not in the spec).</summary>
    public double ElasticProbability { get; init; } = 0.95;

    public IReadOnlyList<ElasticLevel> Elastic { get; init; } = [new(0.2, 0.4), new(0.8, 1.6)];
}

/// <summary>With probability <paramref name="Probability"/>, zero the colour (or normal) of a fraction
/// <paramref name="Ratio"/> of the points (Concerto, spec section 3).</summary>
public readonly record struct FeatureDrop(double Ratio, double Probability);

/// <summary>Sample-level augmentations. None modifies its input: each returns a new sample with fresh arrays for what
/// it changes and shares the rest.</summary>
public static class ViewAugmentation
{
    /// <summary>Colour jitter then chromatic translation on a copy of the colours.</summary>
    public static PointSample Color(PointSample view, Random random, ColorAugmentationSettings settings)
    {
        ArgumentNullException.ThrowIfNull(view);
        ArgumentNullException.ThrowIfNull(settings);
        var color = (float[])view.Color.Clone();
        Augmentations.ColorJitter(color, random, settings.Brightness, settings.Contrast, settings.Saturation, settings.Hue, settings.JitterProbability);
        Augmentations.ChromaticTranslation(color, random, settings.TranslationRatio, settings.TranslationProbability);
        return view.With(color: color);
    }

    /// <summary>The geometry chain on copies of the coordinates and normals.</summary>
    public static PointSample Geometry(PointSample view, Random random, GeometryAugmentationSettings settings)
    {
        ArgumentNullException.ThrowIfNull(view);
        ArgumentNullException.ThrowIfNull(random);
        ArgumentNullException.ThrowIfNull(settings);
        var coord = (float[])view.Coord.Clone();
        var normal = (float[])view.Normal.Clone();
        Augmentations.CenterShift(coord);
        Augmentations.RandomScale(coord, random, settings.ScaleMin, settings.ScaleMax);
        Augmentations.RandomRotate(coord, normal, random, RotationAxis.Z, settings.ZMaxAngle, settings.ZProbability, aboutBoxCentre: false);
        Augmentations.RandomRotate(coord, normal, random, RotationAxis.X, settings.TiltMaxAngle, settings.TiltProbability, aboutBoxCentre: true);
        Augmentations.RandomRotate(coord, normal, random, RotationAxis.Y, settings.TiltMaxAngle, settings.TiltProbability, aboutBoxCentre: true);
        Augmentations.RandomFlip(coord, normal, random, settings.FlipProbability);
        Augmentations.Jitter(coord, random, settings.JitterSigma, settings.JitterClip);
        if (settings.Elastic.Count > 0 && random.NextDouble() < settings.ElasticProbability)
        {
            foreach (var level in settings.Elastic) Augmentations.ElasticDistortion(coord, random, level.Granularity, level.Magnitude);
        }

        return view.With(coord: coord, normal: normal);
    }

    /// <summary>Concerto's drop colour then drop normal, each list in order, on copies.</summary>
    public static PointSample Drop(PointSample sample, Random random, IReadOnlyList<FeatureDrop> colorDrops, IReadOnlyList<FeatureDrop> normalDrops)
    {
        ArgumentNullException.ThrowIfNull(sample);
        ArgumentNullException.ThrowIfNull(colorDrops);
        ArgumentNullException.ThrowIfNull(normalDrops);
        if (colorDrops.Count == 0 && normalDrops.Count == 0) return sample;
        var color = (float[])sample.Color.Clone();
        foreach (var drop in colorDrops) Augmentations.DropFeature(color, random, drop.Ratio, drop.Probability);
        var normal = (float[])sample.Normal.Clone();
        foreach (var drop in normalDrops) Augmentations.DropFeature(normal, random, drop.Ratio, drop.Probability);
        return sample.With(color: color, normal: normal);
    }
}
