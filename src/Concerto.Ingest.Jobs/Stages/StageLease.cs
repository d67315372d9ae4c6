using Concerto.Ingest.Storage.Catalog;

namespace Concerto.Ingest.Jobs.Stages;

/// <summary>Keeps a stage claim alive while its work runs: renews the lease every quarter of its length, and cancels
/// <see cref="Token"/> when the claim was taken over (another execution found the lease expired) or when renewals have
/// failed for most of the lease (the database is unreachable, so another worker may soon take over). Either way the work
/// stops before a second execution can get far, and the commit's own claim check refuses whatever it was about to write.</summary>
public sealed class StageLease : IAsyncDisposable
{
    private readonly StageLedger _ledger;
    private readonly long _runId;
    private readonly string _stage;
    private readonly string _claim;
    private readonly TimeSpan _length;
    private readonly CancellationTokenSource _lost;
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _loop;

    public StageLease(StageLedger ledger, long runId, string stage, string claim, TimeSpan length, CancellationToken jobToken)
    {
        (_ledger, _runId, _stage, _claim, _length) = (ledger, runId, stage, claim, length);
        _lost = CancellationTokenSource.CreateLinkedTokenSource(jobToken);
        _loop = Task.Run(RenewLoopAsync, CancellationToken.None);
    }

    /// <summary>The job's token, also cancelled when the lease is lost.</summary>
    public CancellationToken Token => _lost.Token;

    /// <summary>Why the lease was lost; null while it is held.</summary>
    public string? LostReason { get; private set; }

    private async Task RenewLoopAsync()
    {
        var lastRenewed = DateTime.UtcNow;
        using var timer = new PeriodicTimer(_length / 4);
        try
        {
            while (await timer.WaitForNextTickAsync(_stop.Token).ConfigureAwait(false))
            {
                try
                {
                    using var attempt = CancellationTokenSource.CreateLinkedTokenSource(_stop.Token);
                    attempt.CancelAfter(_length / 4);
                    if (!await _ledger.RenewAsync(_runId, _stage, _claim, attempt.Token).ConfigureAwait(false))
                    {
                        Lose("its claim on the stage was taken over by another execution");
                        return;
                    }

                    lastRenewed = DateTime.UtcNow;
                }
                catch (Exception e) when (e is Npgsql.NpgsqlException or TimeoutException or OperationCanceledException && !_stop.IsCancellationRequested)
                {
                    if (DateTime.UtcNow - lastRenewed > _length * 0.75)
                    {
                        Lose($"its lease could not be renewed for {(DateTime.UtcNow - lastRenewed).TotalSeconds:0} s ({e.Message})");
                        return;
                    }
                }
            }
        }
        catch (OperationCanceledException) when (_stop.IsCancellationRequested)
        {
        }
    }

    private void Lose(string reason)
    {
        LostReason = reason;
        _lost.Cancel();
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync().ConfigureAwait(false);
        await _loop.ConfigureAwait(false);
        _stop.Dispose();
        _lost.Dispose();
    }
}
