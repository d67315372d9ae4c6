using TorchSharp;
using static TorchSharp.torch;

namespace Concerto.Ingest.Train.Sonata;

/// <summary>The teacher as an exponential moving average of the student, updated after every step with a momentum that
/// rises on a cosine from 0.994 to 1 (shared/spec/concerto.md section 2).</summary>
public static class TeacherEma
{
    /// <summary>In place, without gradients: teacher = m * teacher + (1 - m) * student for every parameter, matched by
    /// name; buffers are copied from the student.</summary>
    /// <exception cref="ArgumentException">The two modules' parameter or buffer names or shapes differ.</exception>
    public static void Update(nn.Module student, nn.Module teacher, double momentum)
    {
        ArgumentNullException.ThrowIfNull(student);
        ArgumentNullException.ThrowIfNull(teacher);
        if (momentum is < 0 or > 1) throw new ArgumentOutOfRangeException(nameof(momentum), momentum, "momentum must lie in [0, 1]");
        var studentParameters = student.named_parameters().ToDictionary(p => p.name, p => (Tensor)p.parameter);
        var teacherParameters = teacher.named_parameters().ToDictionary(p => p.name, p => (Tensor)p.parameter);
        var studentBuffers = student.named_buffers().ToDictionary(b => b.name, b => b.buffer);
        var teacherBuffers = teacher.named_buffers().ToDictionary(b => b.name, b => b.buffer);
        CheckSameNames(studentParameters, teacherParameters, "parameters");
        CheckSameNames(studentBuffers, teacherBuffers, "buffers");

        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        foreach (var (name, target) in teacherParameters)
            target.mul_(momentum).add_(studentParameters[name].detach().to(target.dtype, target.device), alpha: 1 - momentum);
        foreach (var (name, target) in teacherBuffers)
            target.copy_(studentBuffers[name]);
    }

    /// <summary>The EMA momentum at <paramref name="step"/> of <paramref name="totalSteps"/>:
    /// end - (end - start) * (cos(pi * step / total) + 1) / 2, so start at step 0 and end at the last step. Steps
    /// outside [0, total] are clamped.</summary>
    public static double CosineMomentum(long step, long totalSteps, double start = 0.994, double end = 1.0)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(totalSteps);
        var progress = Math.Clamp(step, 0, totalSteps) / (double)totalSteps;
        return end - (end - start) * (Math.Cos(Math.PI * progress) + 1) / 2;
    }

    private static void CheckSameNames(Dictionary<string, Tensor> student, Dictionary<string, Tensor> teacher, string what)
    {
        var missing = student.Keys.Except(teacher.Keys).Concat(teacher.Keys.Except(student.Keys)).ToList();
        if (missing.Count > 0)
            throw new ArgumentException($"student and teacher {what} differ: {string.Join(", ", missing.Order(StringComparer.Ordinal))} appear in only one; build the teacher as a copy of the student");
        foreach (var (name, tensor) in student)
        {
            if (!tensor.shape.SequenceEqual(teacher[name].shape))
                throw new ArgumentException($"student and teacher {what} '{name}' differ in shape: [{string.Join(", ", tensor.shape)}] vs [{string.Join(", ", teacher[name].shape)}]");
        }
    }
}
