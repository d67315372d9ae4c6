using System.Diagnostics;
using Concerto.Ingest.Train.Data;

namespace Concerto.Ingest.Train.Tests.Data;

public sealed class BackgroundLoaderTests
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(10);

    [Fact]
    public void TryTake_YieldsInStepOrder_WithWorkersFinishingInAnyOrder_AndStaysWithinThePrefetchBound()
    {
        const int first = 5, steps = 40, prefetch = 3;
        var started = 0;
        using var loader = new BackgroundLoader<int>((step, ct) =>
        {
            Interlocked.Increment(ref started);
            Thread.Sleep(new Random(step).Next(0, 8)); // later steps often finish first
            return step * 10;
        }, first, steps, workers: 4, prefetch: prefetch);

        var taken = new List<int>();
        while (loader.TryTake(out var item))
        {
            taken.Add(item);
            Assert.InRange(Volatile.Read(ref started), taken.Count, taken.Count + prefetch);
        }

        Assert.Equal(Enumerable.Range(first, steps).Select(s => s * 10), taken);
        Assert.Equal(first + steps, loader.NextStep);
        Assert.False(loader.TryTake(out _));
        Assert.Throws<InvalidOperationException>(() => loader.Take());
    }

    [Fact]
    public void TryTake_ThrowsTheFailingStep_AfterTheStepsBeforeIt()
    {
        var boom = new InvalidDataException("coord.npy is missing");
        using var loader = new BackgroundLoader<int>((step, _) =>
        {
            Thread.Sleep(step % 3);
            return step == 7 ? throw boom : step;
        }, 0, 20, workers: 3);

        for (var step = 0; step < 7; step++) Assert.Equal(step, loader.Take());
        var error = Assert.Throws<BackgroundLoaderException>(() => loader.Take());
        Assert.Equal(7, error.Step);
        Assert.Same(boom, error.InnerException);
        Assert.Contains("step 7", error.Message, StringComparison.Ordinal);
        Assert.Same(error, Assert.Throws<BackgroundLoaderException>(() => loader.Take())); // and stays failed
    }

    [Fact]
    public void TryTake_ReportsAFailingWorkItemEnumeration_AtItsStep()
    {
        static IEnumerable<int> Items()
        {
            yield return 1;
            yield return 2;
            throw new IOException("listing failed");
        }

        using var loader = BackgroundLoader<int>.FromItems(Items(), (item, _) => item * 100, firstStep: 10);
        Assert.Equal([100, 200], [loader.Take(), loader.Take()]);
        var error = Assert.Throws<BackgroundLoaderException>(() => loader.Take());
        Assert.Equal(12, error.Step);
        Assert.IsType<IOException>(error.InnerException);
    }

    [Fact]
    public void Dispose_StopsWorkersBlockedInWork_AndUnblocksAWaitingConsumer()
    {
        var loader = new BackgroundLoader<int>((step, ct) =>
        {
            if (step >= 3) ct.WaitHandle.WaitOne(); // stuck until cancelled, like a slow read
            ct.ThrowIfCancellationRequested();
            return step;
        }, 0, 100, workers: 2, prefetch: 4);

        Exception? consumerError = null;
        var consumer = new Thread(() =>
        {
            try
            {
                for (var i = 0; i < 10; i++) loader.Take();
            }
            catch (Exception e)
            {
                consumerError = e;
            }
        });
        consumer.Start();
        Assert.True(SpinWait.SpinUntil(() => loader.NextStep == 3, Patience)); // now blocked on step 3

        var dispose = new Thread(loader.Dispose);
        dispose.Start();
        Assert.True(dispose.Join(Patience), "Dispose hung");
        Assert.True(consumer.Join(Patience), "the consumer stayed blocked");
        Assert.True(consumerError is OperationCanceledException or ObjectDisposedException, consumerError?.ToString());
        Assert.Throws<ObjectDisposedException>(() => loader.Take());
        loader.Dispose(); // twice is fine
    }

    [Fact]
    public void Dispose_DisposesPreparedItemsNeverTaken_ButNotTakenOnes()
    {
        var made = new List<Tracked>();
        var loader = new BackgroundLoader<Tracked>((step, _) =>
        {
            var item = new Tracked(step);
            lock (made) made.Add(item);
            return item;
        }, 0, 100, workers: 2, prefetch: 4);

        var first = loader.Take();
        Assert.True(SpinWait.SpinUntil(() => { lock (made) return made.Count == 5; }, Patience)); // 1 taken + 4 prefetched
        Thread.Sleep(50);
        lock (made) Assert.Equal(5, made.Count); // and no more: the queue is full
        loader.Dispose();

        Assert.False(first.Disposed);
        // Two workers: the taken item is not necessarily the first one made.
        Assert.All(made.Where(t => !ReferenceEquals(t, first)), t => Assert.True(t.Disposed, $"step {t.Step}"));
    }

    [Fact]
    public void Dispose_ReturnsPromptly_WhenWorkersWaitOnAFullQueue()
    {
        var loader = new BackgroundLoader<int>((step, _) => step, 0, 1000, workers: 3, prefetch: 2);
        Assert.Equal(0, loader.Take());
        Thread.Sleep(50); // let the workers fill the queue and block on it
        var watch = Stopwatch.StartNew();
        loader.Dispose();
        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(2), $"Dispose took {watch.Elapsed}");
    }

    [Fact]
    public void TryTake_KeepsItsStep_WhenTheCallersTokenIsCancelled()
    {
        using var gate = new ManualResetEventSlim();
        using var loader = new BackgroundLoader<int>((step, ct) =>
        {
            if (step == 1) gate.Wait(ct);
            return step;
        }, 0, 3, workers: 1);
        Assert.Equal(0, loader.Take());
        using (var cancel = new CancellationTokenSource(TimeSpan.FromMilliseconds(50)))
            Assert.ThrowsAny<OperationCanceledException>(() => loader.Take(cancel.Token));
        gate.Set();
        Assert.Equal([1, 2], loader.ReadAll());
    }

    [Fact]
    public void ConsumerWaited_CountsTimeBlockedOnSlowWork_AndLittleWhenWorkIsAhead()
    {
        using var slow = new BackgroundLoader<int>((step, _) =>
        {
            Thread.Sleep(50);
            return step;
        }, 0, 4, workers: 1);
        Assert.Equal([0, 1, 2, 3], slow.ReadAll());
        Assert.True(slow.ConsumerWaited >= TimeSpan.FromMilliseconds(150), $"waited {slow.ConsumerWaited}");

        using var ahead = BackgroundLoader<int>.FromItems([0, 1, 2, 3], (item, _) => item, prefetch: 4);
        Thread.Sleep(200); // everything is ready before the first take
        Assert.Equal([0, 1, 2, 3], ahead.ReadAll());
        Assert.True(ahead.ConsumerWaited < TimeSpan.FromMilliseconds(50), $"waited {ahead.ConsumerWaited}");
        Assert.True(ahead.ConsumerWaited < slow.ConsumerWaited);
    }

    private sealed class Tracked(int step) : IDisposable
    {
        public int Step { get; } = step;
        public bool Disposed { get; private set; }
        public void Dispose() => Disposed = true;
    }
}
