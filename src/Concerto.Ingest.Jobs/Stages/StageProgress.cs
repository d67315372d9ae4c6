using Concerto.Ingest.Storage.Catalog;

namespace Concerto.Ingest.Jobs.Stages;

/// <summary>Progress from a stage's hot loop to the run_stages row, at most a couple of writes per second and never
/// blocking the loop: reports only replace the latest value, a background task writes it. Progress is advisory: a
/// failed write is skipped, never a reason to fail the stage.</summary>
public sealed class StageProgress : IProgress<(long Done, long Total)>, IAsyncDisposable
{
    private static readonly TimeSpan Interval = TimeSpan.FromMilliseconds(500);
    private readonly StageLedger _ledger;
    private readonly long _runId;
    private readonly string _stage;
    private readonly string _jobId;
    private readonly CancellationTokenSource _stop = new();
    private readonly Lock _gate = new();
    private readonly Task _writer;
    private (long Done, long Total) _latest;

    public StageProgress(StageLedger ledger, long runId, string stage, string jobId)
    {
        _ledger = ledger;
        _runId = runId;
        _stage = stage;
        _jobId = jobId;
        _writer = Task.Run(WriteLoopAsync);
    }

    public void Report((long Done, long Total) value)
    {
        lock (_gate) _latest = value;
    }

    private async Task WriteLoopAsync()
    {
        using var timer = new PeriodicTimer(Interval);
        (long, long) written = (-1, -1);
        while (await WaitTickAsync(timer).ConfigureAwait(false))
        {
            (long Done, long Total) now;
            lock (_gate) now = _latest;
            if (now == written) continue;
            try
            {
                await _ledger.ReportProgressAsync(_runId, _stage, _jobId, now.Done, now.Total, _stop.Token).ConfigureAwait(false);
                written = now;
            }
            catch (Exception e) when (e is Npgsql.NpgsqlException or TimeoutException or OperationCanceledException)
            {
                // skipped: the next tick tries again, and the stage's commit reports any lasting database problem
            }
        }
    }

    private async Task<bool> WaitTickAsync(PeriodicTimer timer)
    {
        try
        {
            return await timer.WaitForNextTickAsync(_stop.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync().ConfigureAwait(false);
        await _writer.ConfigureAwait(false);
        _stop.Dispose();
    }
}
