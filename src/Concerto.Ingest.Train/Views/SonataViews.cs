using Concerto.Ingest.Train.Data;

namespace Concerto.Ingest.Train.Views;

/// <summary>How Sonata cuts views from a grid-sampled cloud (spec section 2). A view of fraction range [a, b) holds
/// floor(U(a, b) * min(<see cref="MaxPoints"/>, N)) points (at least 1), the nearest to its centre.</summary>
public sealed record SonataViewSettings
{
    public static SonataViewSettings Default { get; } = new();

    public int GlobalViews { get; init; } = 2;
    public int LocalViews { get; init; } = 4;
    public double GlobalMinFraction { get; init; } = 0.4;
    public double GlobalMaxFraction { get; init; } = 1.0;
    public double LocalMinFraction { get; init; } = 0.1;
    public double LocalMaxFraction { get; init; } = 0.4;

    /// <summary>Point cap that the fractions scale (65,536 in Sonata and Concerto).</summary>
    public int MaxPoints { get; init; } = 65536;

    internal void Validate()
    {
        if (GlobalViews < 1) throw new ArgumentOutOfRangeException(nameof(GlobalViews), GlobalViews, "at least one global view is needed (local centres come from the first)");
        if (LocalViews < 0) throw new ArgumentOutOfRangeException(nameof(LocalViews), LocalViews, "must not be negative");
        if (MaxPoints < 1) throw new ArgumentOutOfRangeException(nameof(MaxPoints), MaxPoints, "must be positive");
        if (!(GlobalMinFraction > 0 && GlobalMinFraction <= GlobalMaxFraction && GlobalMaxFraction <= 1))
            throw new ArgumentException($"global fractions [{GlobalMinFraction}, {GlobalMaxFraction}] must satisfy 0 < min <= max <= 1");
        if (!(LocalMinFraction > 0 && LocalMinFraction <= LocalMaxFraction && LocalMaxFraction <= 1))
            throw new ArgumentException($"local fractions [{LocalMinFraction}, {LocalMaxFraction}] must satisfy 0 < min <= max <= 1");
    }
}

/// <summary>Which points (indices into the grid-sampled cloud) each view holds, and the point each was centred on.</summary>
public sealed record ViewPlan(int[][] Global, int[][] Local, int[] GlobalCentre, int[] LocalCentre);

/// <summary>Sonata's global and local views (spec section 2): the first global view is centred on a random point; every
/// further global view on a random point inside the first; each local view on a point of the first global view that
/// no earlier local view covers (when every point is covered, the cover is reset and any point of the first view may
/// be drawn, as the reference generator does). Local views are cut from the whole cloud; only their centres are
/// restricted to the first global view.</summary>
public static class SonataViews
{
    /// <summary>The views as copied samples (no augmentation).</summary>
    public static (PointSample[] Global, PointSample[] Local) Make(PointSample gridSampled, Random random, SonataViewSettings settings)
    {
        ArgumentNullException.ThrowIfNull(gridSampled);
        var plan = Plan(gridSampled.Coord, random, settings);
        var global = new PointSample[plan.Global.Length];
        for (var g = 0; g < global.Length; g++) global[g] = PointSubset.Take(gridSampled, plan.Global[g]);
        var local = new PointSample[plan.Local.Length];
        for (var l = 0; l < local.Length; l++) local[l] = PointSubset.Take(gridSampled, plan.Local[l]);
        return (global, local);
    }

    /// <summary>Draws the views of a cloud with coordinates <paramref name="coord"/> (N x 3). When
    /// <paramref name="firstView"/> is given (Concerto's major view) it is the first global view and its centre is
    /// reported as -1.</summary>
    public static ViewPlan Plan(ReadOnlySpan<float> coord, Random random, SonataViewSettings settings, int[]? firstView = null)
    {
        ArgumentNullException.ThrowIfNull(random);
        ArgumentNullException.ThrowIfNull(settings);
        settings.Validate();
        var n = coord.Length / 3;
        if (n == 0) throw new ArgumentException("a view needs at least one point; the sample is empty after grid sampling", nameof(coord));
        var cap = Math.Min(settings.MaxPoints, n);

        var global = new int[settings.GlobalViews][];
        var globalCentre = new int[settings.GlobalViews];
        if (firstView is null)
        {
            globalCentre[0] = random.Next(n);
            global[0] = Around(coord, globalCentre[0], ViewSize(cap, settings.GlobalMinFraction, settings.GlobalMaxFraction, random));
        }
        else
        {
            if (firstView.Length == 0) throw new ArgumentException("the given first view is empty", nameof(firstView));
            foreach (var i in firstView)
                if ((uint)i >= (uint)n) throw new ArgumentOutOfRangeException(nameof(firstView), i, $"first-view index outside the {n} points");
            globalCentre[0] = -1;
            global[0] = firstView;
        }

        var first = global[0];
        for (var g = 1; g < global.Length; g++)
        {
            globalCentre[g] = first[random.Next(first.Length)];
            global[g] = Around(coord, globalCentre[g], ViewSize(cap, settings.GlobalMinFraction, settings.GlobalMaxFraction, random));
        }

        var local = new int[settings.LocalViews][];
        var localCentre = new int[settings.LocalViews];
        var covered = new bool[first.Length];
        var uncovered = first.Length;
        var member = new int[n]; // member[i] == l + 1 when point i is in local view l
        for (var l = 0; l < local.Length; l++)
        {
            if (uncovered == 0)
            {
                Array.Clear(covered);
                uncovered = first.Length;
            }

            var pick = random.Next(uncovered);
            var centre = -1;
            for (var j = 0; j < first.Length; j++)
            {
                if (covered[j]) continue;
                if (pick-- == 0)
                {
                    centre = first[j];
                    break;
                }
            }

            localCentre[l] = centre;
            local[l] = Around(coord, centre, ViewSize(cap, settings.LocalMinFraction, settings.LocalMaxFraction, random));
            foreach (var i in local[l]) member[i] = l + 1;
            for (var j = 0; j < first.Length; j++)
            {
                if (covered[j] || member[first[j]] != l + 1) continue;
                covered[j] = true;
                uncovered--;
            }
        }

        return new ViewPlan(global, local, globalCentre, localCentre);
    }

    /// <summary>floor(U(min, max) * cap), at least 1.</summary>
    public static int ViewSize(int cap, double minFraction, double maxFraction, Random random)
    {
        ArgumentNullException.ThrowIfNull(random);
        var fraction = minFraction + (maxFraction - minFraction) * random.NextDouble();
        return Math.Max(1, (int)(fraction * cap));
    }

    private static int[] Around(ReadOnlySpan<float> coord, int centre, int size) =>
        NearestPoints.Select(coord, coord[3 * centre], coord[3 * centre + 1], coord[3 * centre + 2], size);
}
