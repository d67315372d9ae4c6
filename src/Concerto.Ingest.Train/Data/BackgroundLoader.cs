using System.Diagnostics;
using System.Diagnostics.CodeAnalysis;
using System.Runtime.ExceptionServices;
using System.Threading.Channels;

namespace Concerto.Ingest.Train.Data;

/// <summary>A step's work failed on a <see cref="BackgroundLoader{T}"/> worker; the producer's exception is the inner one.</summary>
public sealed class BackgroundLoaderException : Exception
{
    public BackgroundLoaderException(int step, Exception innerException)
        : base($"Preparing training step {step} failed: {innerException?.Message}", innerException) => Step = step;

    /// <summary>The step whose work threw.</summary>
    public int Step { get; }
}

/// <summary>
/// Prepares training steps ahead of the consumer: <c>workers</c> threads run the per-step work while the consumer
/// trains, at most <c>prefetch</c> steps ahead, and the consumer receives items strictly in step order whichever
/// worker finished first. A failing step reaches the consumer, in its turn, as a <see cref="BackgroundLoaderException"/>
/// naming the step; no later step is started after it. <see cref="ConsumerWaited"/> says how long the consumer blocked,
/// i.e. whether training waited on data.
/// </summary>
/// <remarks>One consumer thread. Items handed out belong to the caller; prepared items never handed out are disposed
/// with the loader when they are <see cref="IDisposable"/>. <see cref="Dispose"/> cancels the work's token and waits for
/// the workers, so work should observe its token.</remarks>
public sealed class BackgroundLoader<T> : IDisposable
{
    public const int DefaultWorkers = 2;
    public const int DefaultPrefetch = 4;

    private readonly IEnumerator<Func<CancellationToken, T>> _work;
    private readonly SemaphoreSlim _claim = new(1, 1); // guards _work, _nextStep, _exhausted and the order of writes to _ready
    private readonly Channel<Pending> _ready;
    private readonly CancellationTokenSource _stop;
    private readonly Task[] _workers;
    private int _nextStep;
    private bool _exhausted;
    private int _failedStep = int.MaxValue;
    private Pending? _current; // read from _ready, not yet handed out (kept across a cancelled take to keep the order)
    private ExceptionDispatchInfo? _fault;
    private long _waitedTicks;
    private int _disposed;

    /// <summary>Runs <paramref name="produce"/>(step, token) for steps <paramref name="firstStep"/> ..
    /// <paramref name="firstStep"/> + <paramref name="steps"/> - 1 (a resumed run starts at its saved step).</summary>
    /// <param name="produce">The step's work; called on worker threads, several at once.</param>
    /// <param name="firstStep">The first step.</param>
    /// <param name="steps">How many steps.</param>
    /// <param name="workers">Worker threads (at least 1).</param>
    /// <param name="prefetch">Most steps prepared or in preparation beyond the one the consumer takes (at least 1).</param>
    /// <param name="cancellationToken">Stops the work, as <see cref="Dispose"/> does (which must still be called).</param>
    public BackgroundLoader(Func<int, CancellationToken, T> produce, int firstStep, int steps, int workers = DefaultWorkers,
        int prefetch = DefaultPrefetch, CancellationToken cancellationToken = default)
        : this(Steps(produce, firstStep, steps), firstStep, workers, prefetch, cancellationToken)
    {
    }

    private BackgroundLoader(IEnumerable<Func<CancellationToken, T>> work, int firstStep, int workers, int prefetch, CancellationToken cancellationToken)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(workers, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(prefetch, 1);
        _nextStep = NextStep = firstStep;
        _stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        _work = work.GetEnumerator();
        _ready = Channel.CreateBounded<Pending>(new BoundedChannelOptions(prefetch)
        {
            FullMode = BoundedChannelFullMode.Wait,
            SingleReader = true,
            // Every waiter is a blocked thread, so an inline continuation only wakes it; no thread-pool hop.
            AllowSynchronousContinuations = true,
        });
        _workers = new Task[workers];
        for (var w = 0; w < workers; w++)
            _workers[w] = Task.Factory.StartNew(Work, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);
    }

    /// <summary>Runs <paramref name="produce"/> over <paramref name="items"/> (enumerated once, in order, under a lock);
    /// item i is step <paramref name="firstStep"/> + i.</summary>
    public static BackgroundLoader<T> FromItems<TItem>(IEnumerable<TItem> items, Func<TItem, CancellationToken, T> produce, int firstStep = 0,
        int workers = DefaultWorkers, int prefetch = DefaultPrefetch, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(items);
        ArgumentNullException.ThrowIfNull(produce);
        return new BackgroundLoader<T>(items.Select(item => (Func<CancellationToken, T>)(ct => produce(item, ct))), firstStep, workers, prefetch,
            cancellationToken);
    }

    /// <summary>The step the next <see cref="TryTake"/> returns.</summary>
    public int NextStep { get; private set; }

    /// <summary>Total time the consumer spent blocked in <see cref="TryTake"/> waiting for a step to be ready.</summary>
    public TimeSpan ConsumerWaited => TimeSpan.FromTicks(Interlocked.Read(ref _waitedTicks));

    /// <summary>Takes the next step's item, blocking until it is ready; false once every step was taken.</summary>
    /// <exception cref="BackgroundLoaderException">The step's work threw (and again on every later call).</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> or the loader's token was
    /// cancelled; after the former the same step is still next.</exception>
    public bool TryTake([MaybeNullWhen(false)] out T item, CancellationToken cancellationToken = default)
    {
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        _fault?.Throw();
        var started = Stopwatch.GetTimestamp();
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, _stop.Token);
        try
        {
            var pending = _current;
            if (pending is null)
            {
                while (!_ready.Reader.TryRead(out pending))
                {
                    if (!_ready.Reader.WaitToReadAsync(linked.Token).AsTask().GetAwaiter().GetResult())
                    {
                        item = default;
                        return false;
                    }
                }

                _current = pending;
            }

            var result = pending.Result.Task;
            try
            {
                result.Wait(linked.Token);
            }
            catch (AggregateException)
            {
                // Faulted or cancelled: told apart below, with the producer's exception unwrapped.
            }

            if (result.IsFaulted)
            {
                _current = null;
                _fault = ExceptionDispatchInfo.Capture(result.Exception!.InnerException!);
                _fault.Throw();
            }

            if (result.IsCanceled) throw new OperationCanceledException($"step {pending.Step} was cancelled", linked.Token);
            if (Interlocked.CompareExchange(ref _current, null, pending) != pending) throw new ObjectDisposedException(GetType().Name);
            item = result.Result;
            NextStep = pending.Step + 1;
            return true;
        }
        finally
        {
            Interlocked.Add(ref _waitedTicks, Stopwatch.GetElapsedTime(started).Ticks);
        }
    }

    /// <summary>Takes the next step's item, as <see cref="TryTake"/>.</summary>
    /// <exception cref="InvalidOperationException">Every step was taken.</exception>
    public T Take(CancellationToken cancellationToken = default) =>
        TryTake(out var item, cancellationToken) ? item : throw new InvalidOperationException($"the loader has no step {NextStep}; every step was taken");

    /// <summary>The remaining items in step order.</summary>
    public IEnumerable<T> ReadAll(CancellationToken cancellationToken = default)
    {
        while (TryTake(out var item, cancellationToken)) yield return item;
    }

    /// <summary>Cancels the work, waits for the workers to stop, and disposes prepared items never handed out.</summary>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0) return;
        _stop.Cancel();
        Task.WaitAll(_workers); // workers catch everything, so this only waits
        _ready.Writer.TryComplete();
        while (_ready.Reader.TryRead(out var pending)) Release(pending);
        if (Interlocked.Exchange(ref _current, null) is { } current) Release(current);
        _work.Dispose();
        _claim.Dispose();
        _stop.Dispose();
    }

    private static IEnumerable<Func<CancellationToken, T>> Steps(Func<int, CancellationToken, T> produce, int firstStep, int steps)
    {
        ArgumentNullException.ThrowIfNull(produce);
        ArgumentOutOfRangeException.ThrowIfNegative(firstStep);
        ArgumentOutOfRangeException.ThrowIfNegative(steps);
        return Enumerable.Range(firstStep, steps).Select(step => (Func<CancellationToken, T>)(ct => produce(step, ct)));
    }

    private static void Release(Pending pending)
    {
        if (pending.Result.Task.IsCompletedSuccessfully && pending.Result.Task.Result is IDisposable disposable) disposable.Dispose();
    }

    private void Work()
    {
        var ct = _stop.Token;
        try
        {
            while (Claim(ct) is { } pending) Produce(pending, ct);
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            // Stopping.
        }
    }

    /// <summary>Takes the next work item and queues its slot for the consumer (in step order: both under the lock);
    /// null when there is nothing more to do.</summary>
    private Pending? Claim(CancellationToken ct)
    {
        _claim.Wait(ct);
        try
        {
            if (_exhausted || Volatile.Read(ref _failedStep) != int.MaxValue) return null;
            Pending pending;
            try
            {
                if (!_work.MoveNext())
                {
                    _exhausted = true;
                    _ready.Writer.TryComplete();
                    return null;
                }

                pending = new Pending(_nextStep++, _work.Current);
            }
            catch (Exception e) when (e is not OperationCanceledException || !ct.IsCancellationRequested)
            {
                // The work items themselves failed: the consumer meets it at the step that item would have been.
                _exhausted = true;
                pending = new Pending(_nextStep, null);
                pending.Result.SetException(new BackgroundLoaderException(_nextStep, e));
            }

            while (!_ready.Writer.TryWrite(pending))
            {
                if (!_ready.Writer.WaitToWriteAsync(ct).AsTask().GetAwaiter().GetResult()) return null;
            }

            return pending.Work is null ? null : pending;
        }
        finally
        {
            _claim.Release();
        }
    }

    private void Produce(Pending pending, CancellationToken ct)
    {
        if (pending.Step > Volatile.Read(ref _failedStep))
        {
            pending.Result.TrySetCanceled(CancellationToken.None); // an earlier step failed: the consumer never gets here
            return;
        }

        try
        {
            pending.Result.TrySetResult(pending.Work!(ct));
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            pending.Result.TrySetCanceled(ct);
        }
        catch (Exception e)
        {
            var seen = Volatile.Read(ref _failedStep);
            while (pending.Step < seen && Interlocked.CompareExchange(ref _failedStep, pending.Step, seen) is var now && now != seen) seen = now;
            pending.Result.TrySetException(new BackgroundLoaderException(pending.Step, e));
        }
    }

    /// <summary>One step: its work (null for a failed enumeration) and its result, completed by a worker.</summary>
    private sealed class Pending(int step, Func<CancellationToken, T>? work)
    {
        public int Step { get; } = step;
        public Func<CancellationToken, T>? Work { get; } = work;
        public TaskCompletionSource<T> Result { get; } = new();
    }
}
