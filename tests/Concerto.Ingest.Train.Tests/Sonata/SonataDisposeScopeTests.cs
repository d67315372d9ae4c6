using Concerto.Ingest.Train.Sonata;
using TorchSharp;
using static TorchSharp.torch;

namespace Concerto.Ingest.Train.Tests.Sonata;

/// <summary>Each operation leaves only its results in the caller's dispose scope: its temporaries die in its own.</summary>
public sealed class SonataDisposeScopeTests
{
    [Fact]
    public void Operations_LeaveOnlyTheirResultsInTheCallersScope()
    {
        using var inputs = NewDisposeScope();
        manual_seed(12);
        var logits = rand(50, 8);
        var coord = rand(50, 3);
        var targets = logits.softmax(1);
        var sample = zeros(50, dtype: int64);
        using var head = new OnlineClusterHead("head", 6, hidden: 16, bottleneck: 4, prototypes: 8);
        using var teacher = new OnlineClusterHead("teacher", 6, hidden: 16, bottleneck: 4, prototypes: 8);
        var features = randn(50, 6);

        Assert.Equal(1, Count(() => [SinkhornKnopp.Targets(logits, 0.04)]));
        Assert.Equal(2, Count(() =>
        {
            var (q, r) = NearestNeighbourMatch.Match(coord, [20, 50], coord, [25, 50]);
            return [q, r];
        }));
        Assert.Equal(1, Count(() => [SonataLoss.PairLoss(logits, targets, sample, 1)]));
        Assert.Equal(1, Count(() => [head.forward(features)]));
        Assert.Equal(0, Count(() =>
        {
            TeacherEma.Update(head, teacher, 0.99);
            return [];
        }));
    }

    private static int Count(Func<Tensor[]> operation)
    {
        using var scope = NewDisposeScope();
        var results = operation();
        Assert.All(results, r => Assert.False(r.IsInvalid));
        return scope.DisposablesCount;
    }
}
