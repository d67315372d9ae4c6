using Concerto.Ingest.Segments.Scenes;
using Concerto.Ingest.Segments.Visibility;

namespace Concerto.Ingest.Segments.Labels;

/// <summary>A frame's per-pixel labels at the label image's own resolution (row-major); -1 = no label.</summary>
public sealed record LabelImage(int Width, int Height, int[] Semantic, int[] Instance)
{
    public const int Ignore = -1;
}

/// <summary>Per-point labels lifted from per-frame label images (synthetic captures have them): each view that sees a
/// point (depth-tested) votes with the label at the point's pixel, and the most frequent label wins (the lower one on a
/// tie). Voting evens out the pixels where a resized label edge and a point disagree.</summary>
public static class LabelTransfer
{
    /// <summary>Semantic and instance labels for the cloud's points; -1 where no view with a label image sees a point.
    /// <paramref name="labels"/>[v] is view v's label image, or null when it has none.</summary>
    public static (int[] Semantic, int[] Instance) Vote(int pointCount, IReadOnlyList<SceneView> views, IReadOnlyList<ViewVisibility> visibility,
        IReadOnlyList<LabelImage?> labels)
    {
        ArgumentNullException.ThrowIfNull(views);
        ArgumentNullException.ThrowIfNull(visibility);
        ArgumentNullException.ThrowIfNull(labels);
        if (views.Count != visibility.Count || views.Count != labels.Count) throw new ArgumentException("one visibility and one label image (or null) per view");

        // Votes as (point, semantic, instance) packed in one long so one sort groups them by point, then by label.
        var votes = new List<long>();
        for (var v = 0; v < views.Count; v++)
        {
            if (labels[v] is not { } image) continue;
            var k = views[v].Intrinsics;
            double sx = (double)image.Width / k.Width, sy = (double)image.Height / k.Height;
            var seen = visibility[v];
            for (var j = 0; j < seen.Count; j++)
            {
                // Pixel-centre convention on both sides: centre u maps to (u + 0.5) * scale - 0.5.
                var x = (int)Math.Round((seen.U[j] + 0.5) * sx - 0.5);
                var y = (int)Math.Round((seen.V[j] + 0.5) * sy - 0.5);
                if ((uint)x >= (uint)image.Width || (uint)y >= (uint)image.Height) continue;
                var semantic = image.Semantic[y * image.Width + x];
                if (semantic < 0) continue;
                votes.Add(((long)seen.Points[j] << 32) | ((long)(semantic & 0xFFFF) << 16) | (long)(image.Instance[y * image.Width + x] & 0xFFFF));
            }
        }

        votes.Sort();
        var segment = Enumerable.Repeat(LabelImage.Ignore, pointCount).ToArray();
        var instance = Enumerable.Repeat(LabelImage.Ignore, pointCount).ToArray();
        for (var start = 0; start < votes.Count;)
        {
            var point = (int)(votes[start] >> 32);
            var end = start;
            while (end < votes.Count && (int)(votes[end] >> 32) == point) end++;
            segment[point] = Mode(votes, start, end, v => (int)((v >> 16) & 0xFFFF));
            instance[point] = Mode(votes, start, end, v => (int)((v >> 16) & 0xFFFF) == segment[point] ? InstanceOf(v) : int.MaxValue);
            start = end;
        }

        return (segment, instance);
    }

    /// <summary>A vote's instance: the packed 16 bits, where all ones is "no instance" (-1, as Pointcept's ignore value).</summary>
    private static int InstanceOf(long vote) => (vote & 0xFFFF) is var id && id == 0xFFFF ? LabelImage.Ignore : (int)id;

    /// <summary>The most frequent key in a sorted run (lowest on ties), ignoring int.MaxValue.</summary>
    private static int Mode(List<long> votes, int start, int end, Func<long, int> key)
    {
        var counts = new Dictionary<int, int>();
        for (var i = start; i < end; i++)
        {
            var k = key(votes[i]);
            if (k != int.MaxValue) counts[k] = counts.GetValueOrDefault(k) + 1;
        }

        return counts.OrderByDescending(c => c.Value).ThenBy(c => c.Key).First().Key;
    }
}
