using System.Numerics;
using Concerto.Ingest.Core.Geometry;
using Concerto.Ingest.Core.Profiles;
using Concerto.Ingest.Segments.Scenes;
using Concerto.Ingest.Segments.Visibility;

namespace Concerto.Ingest.Segments.Selection;

/// <summary>A chosen group of views (indices into the scene's views, ascending) with the figures that admitted it.</summary>
public sealed record ViewGroup(int[] Views, double MinCovisibility, double MinBaseline, double MaxOverlap);

/// <summary>Chooses groups of views for segments: by covisibility (every pair shares enough points, with a minimum
/// baseline; spread out, or sliding forward through the video) or by the RealEstate10K pose-gap rule; then drops groups whose points overlap an earlier accepted group's
/// by more than the set fraction. Deterministic: anchors are taken in view order and ties go to the lower index.</summary>
public static class ViewGroupSelector
{
    public static IReadOnlyList<ViewGroup> Select(IReadOnlyList<SceneView> views, IReadOnlyList<ViewVisibility> visibility, int pointCount,
        SegmentSettings settings)
    {
        ArgumentNullException.ThrowIfNull(views);
        ArgumentNullException.ThrowIfNull(visibility);
        ArgumentNullException.ThrowIfNull(settings);
        if (views.Count != visibility.Count) throw new ArgumentException("one visibility per view");
        var sets = visibility.Select(v => PointSet.Of(v.Points, pointCount)).ToArray();
        var size = Math.Min(settings.ViewsPerSegment, views.Count);
        if (size == 0) return [];

        var covisibility = new double[views.Count, views.Count];
        for (var a = 0; a < views.Count; a++)
        for (var b = a + 1; b < views.Count; b++)
        {
            var shared = sets[a].IntersectionCount(sets[b]);
            var smaller = Math.Min(sets[a].Count, sets[b].Count);
            covisibility[a, b] = covisibility[b, a] = smaller == 0 ? 0 : (double)shared / smaller;
        }

        var accepted = new List<ViewGroup>();
        var acceptedPoints = new List<PointSet>();
        var seen = new HashSet<string>();
        for (var anchor = 0; anchor < views.Count; anchor++)
        {
            var group = settings.Views switch
            {
                ViewSelectionMode.PoseGap => PoseGapGroup(views, anchor, size, settings),
                ViewSelectionMode.Sliding => SlidingGroup(views, covisibility, anchor, size, settings),
                _ => CovisibleGroup(views, covisibility, anchor, size, settings),
            };
            if (group is null || !seen.Add(string.Join(',', group))) continue;

            var union = PointSet.Empty(pointCount);
            foreach (var v in group) union.UnionWith(sets[v]);
            if (union.Count < settings.MinPoints) continue;
            var overlap = acceptedPoints.Count == 0 ? 0 : acceptedPoints.Max(p => (double)p.IntersectionCount(union) / union.Count);
            if (overlap > settings.MaxOverlap) continue;

            accepted.Add(new ViewGroup(group, MinPairwise(group, (a, b) => covisibility[a, b]),
                MinPairwise(group, (a, b) => (views[a].Centre - views[b].Centre).Length), overlap));
            acceptedPoints.Add(union);
            if (settings.MaxSegments > 0 && accepted.Count == settings.MaxSegments) break;
        }

        return accepted;
    }

    /// <summary>Greedy from the anchor: add the view, among those meeting the covisibility and baseline bounds with every
    /// member, that lies farthest from its nearest member (spread views see the scene from more sides).</summary>
    private static int[]? CovisibleGroup(IReadOnlyList<SceneView> views, double[,] covisibility, int anchor, int size, SegmentSettings s)
    {
        var members = new List<int> { anchor };
        while (members.Count < size)
        {
            int best = -1;
            var bestSpread = double.NegativeInfinity;
            for (var c = 0; c < views.Count; c++)
            {
                if (members.Contains(c)) continue;
                var spread = double.PositiveInfinity;
                var ok = true;
                foreach (var m in members)
                {
                    var baseline = (views[c].Centre - views[m].Centre).Length;
                    if (covisibility[c, m] < s.MinCovisibility || baseline < s.MinBaseline) { ok = false; break; }
                    spread = Math.Min(spread, baseline);
                }

                if (ok && spread > bestSpread) (best, bestSpread) = (c, spread);
            }

            if (best < 0) return null;
            members.Add(best);
        }

        members.Sort();
        return [.. members];
    }

    /// <summary>A stretch of the walk from the anchor forward in video order: each view that shares at least the minimum
    /// covisibility with the previous member and lies at least the minimum baseline from it joins, until the group is full;
    /// the walk stops at the first view that no longer shares enough with the previous member (a cut or a fast turn).</summary>
    private static int[]? SlidingGroup(IReadOnlyList<SceneView> views, double[,] covisibility, int anchor, int size, SegmentSettings s)
    {
        var members = new List<int> { anchor };
        for (var c = anchor + 1; c < views.Count && members.Count < size; c++)
        {
            var previous = members[^1];
            if (covisibility[c, previous] < s.MinCovisibility) break;
            if ((views[c].Centre - views[previous].Centre).Length >= s.MinBaseline) members.Add(c);
        }

        return members.Count == size ? [.. members] : null;
    }

    /// <summary>From the anchor forward in video order: the next view whose frame gap to the previous member and whose
    /// pose score (rotation degrees + 20 x translation) lie in their ranges.</summary>
    private static int[]? PoseGapGroup(IReadOnlyList<SceneView> views, int anchor, int size, SegmentSettings s)
    {
        var members = new List<int> { anchor };
        for (var c = anchor + 1; c < views.Count && members.Count < size; c++)
        {
            var previous = views[members[^1]];
            var gap = views[c].FrameIndex - previous.FrameIndex;
            if (gap < s.MinFrameGap) continue;
            if (gap > s.MaxFrameGap) break;
            var score = PoseScore(previous.CameraToWorld, views[c].CameraToWorld);
            if (score >= s.MinPoseScore && score <= s.MaxPoseScore) members.Add(c);
        }

        return members.Count == size ? [.. members] : null;
    }

    /// <summary>Relative rotation angle in degrees plus 20 x the distance between the camera centres.</summary>
    public static double PoseScore(RigidTransform a, RigidTransform b)
    {
        ArgumentNullException.ThrowIfNull(a);
        ArgumentNullException.ThrowIfNull(b);
        // trace(Ra^T Rb) = sum over entries of Ra .* Rb.
        var trace = 0.0;
        for (var i = 0; i < 9; i++) trace += a.R[i] * b.R[i];
        var angle = Math.Acos(Math.Clamp((trace - 1) / 2, -1, 1)) * 180 / Math.PI;
        return angle + 20 * (a.T - b.T).Length;
    }

    private static double MinPairwise(int[] group, Func<int, int, double> value)
    {
        var min = double.PositiveInfinity;
        for (var i = 0; i < group.Length; i++)
        for (var j = i + 1; j < group.Length; j++)
            min = Math.Min(min, value(group[i], group[j]));
        return group.Length < 2 ? 0 : min;
    }
}

/// <summary>A set of point indices as a bitset: intersection counts over a whole cloud in a few thousand words.</summary>
public sealed class PointSet
{
    private readonly ulong[] _bits;

    private PointSet(int capacity) => _bits = new ulong[(capacity + 63) / 64];

    public int Count { get; private set; }

    public static PointSet Empty(int capacity) => new(capacity);

    public static PointSet Of(IEnumerable<int> points, int capacity)
    {
        ArgumentNullException.ThrowIfNull(points);
        var set = new PointSet(capacity);
        foreach (var p in points) set.Add(p);
        return set;
    }

    public void Add(int point)
    {
        ref var word = ref _bits[point >> 6];
        var mask = 1UL << (point & 63);
        if ((word & mask) == 0) Count++;
        word |= mask;
    }

    public bool Contains(int point) => (_bits[point >> 6] & (1UL << (point & 63))) != 0;

    public void UnionWith(PointSet other)
    {
        ArgumentNullException.ThrowIfNull(other);
        var count = 0;
        for (var i = 0; i < _bits.Length; i++)
        {
            _bits[i] |= other._bits[i];
            count += BitOperations.PopCount(_bits[i]);
        }

        Count = count;
    }

    public int IntersectionCount(PointSet other)
    {
        ArgumentNullException.ThrowIfNull(other);
        var count = 0;
        for (var i = 0; i < _bits.Length; i++) count += BitOperations.PopCount(_bits[i] & other._bits[i]);
        return count;
    }

    /// <summary>The members in ascending order.</summary>
    public int[] ToArray()
    {
        var result = new int[Count];
        var k = 0;
        for (var i = 0; i < _bits.Length; i++)
        {
            var word = _bits[i];
            while (word != 0)
            {
                result[k++] = (i << 6) + BitOperations.TrailingZeroCount(word);
                word &= word - 1;
            }
        }

        return result;
    }
}
