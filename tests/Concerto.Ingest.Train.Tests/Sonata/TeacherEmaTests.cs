using Concerto.Ingest.Train.Sonata;
using TorchSharp;
using static TorchSharp.torch;

namespace Concerto.Ingest.Train.Tests.Sonata;

public sealed class TeacherEmaTests
{
    /// <summary>m = 0.9: teacher w (0, 10) and b -1 with student w (1, 2) and b 3 become
    /// w (0.9*0 + 0.1*1, 0.9*10 + 0.1*2) = (0.1, 9.2), b 0.9*(-1) + 0.1*3 = -0.6; the student is unchanged.</summary>
    [Fact]
    public void Update_MovesEachTeacherParameterTowardTheStudent_ByHand()
    {
        using var scope = NewDisposeScope();
        using var student = nn.Linear(2, 1);
        using var teacher = nn.Linear(2, 1);
        using (no_grad())
        {
            student.weight!.copy_(tensor(new float[] { 1, 2 }).reshape(1, 2));
            student.bias!.copy_(tensor(new float[] { 3 }));
            teacher.weight!.copy_(tensor(new float[] { 0, 10 }).reshape(1, 2));
            teacher.bias!.copy_(tensor(new float[] { -1 }));
        }

        TeacherEma.Update(student, teacher, 0.9);

        Assert.Equal([0.1f, 9.2f], teacher.weight!.data<float>().ToArray(), (a, b) => Math.Abs(a - b) < 1e-6);
        Assert.Equal(-0.6f, teacher.bias!.item<float>(), 1e-6f);
        Assert.Equal([1f, 2f], student.weight!.data<float>().ToArray());
        Assert.Null(teacher.weight!.grad);
    }

    [Fact]
    public void Update_CopiesBuffers_AndRejectsModulesThatDiffer()
    {
        using var scope = NewDisposeScope();
        using var student = nn.BatchNorm1d(2);
        using var teacher = nn.BatchNorm1d(2);
        using (no_grad()) student.running_mean!.copy_(tensor(new float[] { 1, 2 }));
        TeacherEma.Update(student, teacher, 0.99);
        Assert.Equal([1f, 2f], teacher.running_mean!.data<float>().ToArray());

        using var linear = nn.Linear(2, 1);
        using var wider = nn.Linear(3, 1);
        using var nested = nn.Sequential(("inner", nn.Linear(2, 1)));
        Assert.Throws<ArgumentException>(() => TeacherEma.Update(linear, wider, 0.9));
        Assert.Throws<ArgumentException>(() => TeacherEma.Update(linear, nested, 0.9));
    }

    [Fact]
    public void CosineMomentum_RisesFromStartToEnd_OnAHalfCosine()
    {
        Assert.Equal(0.994, TeacherEma.CosineMomentum(0, 1000), 12);
        Assert.Equal(0.997, TeacherEma.CosineMomentum(500, 1000), 12);
        // (cos(pi/4) + 1) / 2 = 0.8535534; 1 - 0.006 * 0.8535534 = 0.9948787
        Assert.Equal(0.9948787, TeacherEma.CosineMomentum(250, 1000), 6);
        Assert.Equal(1.0, TeacherEma.CosineMomentum(1000, 1000), 12);
        Assert.Equal(1.0, TeacherEma.CosineMomentum(1500, 1000), 12);
        Assert.Equal(0.5, TeacherEma.CosineMomentum(1, 2, start: 0, end: 1), 12);
    }
}
