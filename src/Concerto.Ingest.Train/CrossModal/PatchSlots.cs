using Concerto.Ingest.Core.Profiles;

namespace Concerto.Ingest.Train.CrossModal;

/// <summary>A point seen in an image, at a patch of the teacher's grid.</summary>
/// <param name="Point">The point's index in its level (stage 0 of the major view).</param>
/// <param name="Image">The image's index among all images of the batch (image offset + image index).</param>
/// <param name="Row">Patch row in [0, rows).</param>
/// <param name="Col">Patch column in [0, columns).</param>
public readonly record struct PatchHit(int Point, int Image, int Row, int Col);

/// <summary>Which up-cast point predicts which teacher patch (spec section 3): each stage-1 point's (row, col) in an image
/// is the mean over its stage-0 children that have a correspondence there, truncated to int; its slot is
/// image * tokens + row * columns + col on the teacher's grid.</summary>
public static class PatchSlots
{
    /// <summary>The (point, slot) pairs of the parent level, given the children's hits, each child's parent and the grid.</summary>
    public static (long[] Point, long[] Slot) OfParents(IReadOnlyList<PatchHit> childHits, long[] parentOfChild, TeacherGrid grid)
    {
        ArgumentNullException.ThrowIfNull(grid);
        ArgumentNullException.ThrowIfNull(childHits);
        ArgumentNullException.ThrowIfNull(parentOfChild);
        var sums = new Dictionary<(long Parent, int Image), (long Row, long Col, int Count)>();
        foreach (var hit in childHits)
        {
            var key = (parentOfChild[hit.Point], hit.Image);
            sums.TryGetValue(key, out var sum);
            sums[key] = (sum.Row + hit.Row, sum.Col + hit.Col, sum.Count + 1);
        }

        var points = new long[sums.Count];
        var slots = new long[sums.Count];
        var i = 0;
        foreach (var ((parent, image), (row, col, count)) in sums.OrderBy(e => e.Key.Parent).ThenBy(e => e.Key.Image))
        {
            points[i] = parent;
            slots[i++] = (long)image * grid.Tokens + row / count * grid.Columns + col / count;
        }

        return (points, slots);
    }
}
