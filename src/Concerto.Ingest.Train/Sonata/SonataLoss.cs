using TorchSharp;
using static TorchSharp.torch;

namespace Concerto.Ingest.Train.Sonata;

/// <summary>Sonata's self-distillation loss (shared/spec/concerto.md section 2).</summary>
public static class SonataLoss
{
    /// <summary>Student temperature.</summary>
    public const double StudentTemperature = 0.1;

    /// <summary>The loss of one pair set (mask, roll or unmask): per matched pair, the cross-entropy
    /// -sum_k q_k log_softmax(s / tau_s)_k between the teacher target q and the student logits s; averaged over each
    /// group's pairs, then over the groups that have pairs (so every matched point counts, and a group weighs the same
    /// whatever its number of points). The trainer groups by student view, Pointcept's segment reduction; a view with no
    /// match does not count (Pointcept's counts a zero for it unless it is the last). Zero, still attached to the
    /// graph, when there are no pairs.</summary>
    /// <param name="studentLogits">Student cosine logits of the matched points [M, K].</param>
    /// <param name="teacherTargets">Sinkhorn-Knopp targets of their matches [M, K] (no gradient is taken through them).</param>
    /// <param name="groupOfPair">Each pair's group (student view) in [0, groups), long [M].</param>
    /// <param name="groups">Groups (student views) in the batch.</param>
    /// <param name="studentTemperature">tau_s, 0.1 in Sonata.</param>
    public static Tensor PairLoss(Tensor studentLogits, Tensor teacherTargets, Tensor groupOfPair, int groups, double studentTemperature = StudentTemperature)
    {
        ArgumentNullException.ThrowIfNull(studentLogits);
        ArgumentNullException.ThrowIfNull(teacherTargets);
        ArgumentNullException.ThrowIfNull(groupOfPair);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(groups);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(studentTemperature);
        if (studentLogits.dim() != 2 || !studentLogits.shape.SequenceEqual(teacherTargets.shape))
            throw new ArgumentException($"student logits [{string.Join(", ", studentLogits.shape)}] and teacher targets [{string.Join(", ", teacherTargets.shape)}] must both be [M, K]", nameof(teacherTargets));
        if (groupOfPair.dim() != 1 || groupOfPair.shape[0] != studentLogits.shape[0])
            throw new ArgumentException($"groupOfPair must be [M] with M = {studentLogits.shape[0]}, got [{string.Join(", ", groupOfPair.shape)}]", nameof(groupOfPair));

        using var scope = NewDisposeScope();
        var logits = studentLogits.dtype is ScalarType.Float16 or ScalarType.BFloat16 ? studentLogits.to(ScalarType.Float32) : studentLogits;
        if (logits.shape[0] == 0) return (logits.sum() * 0).MoveToOuterDisposeScope();

        var targets = teacherTargets.detach().to(logits.dtype);
        var perPair = -(targets * nn.functional.log_softmax(logits / studentTemperature, 1)).sum(1);   // [M]
        var index = groupOfPair.to(int64, logits.device);
        var sums = ScatterSum.Rows(zeros(groups, dtype: logits.dtype, device: logits.device), index, perPair);
        var counts = ScatterSum.Rows(zeros(groups, dtype: logits.dtype, device: logits.device), index, ones_like(perPair));
        var present = counts.gt(0);
        return (sums.masked_select(present) / counts.masked_select(present)).mean().MoveToOuterDisposeScope();
    }
}
