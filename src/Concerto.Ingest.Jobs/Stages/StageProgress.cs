using Concerto.Ingest.Storage.Catalog;

namespace Concerto.Ingest.Jobs.Stages;

/// <summary>Progress from a stage's hot loop to the run_stages row, at most a couple of writes per second and never
/// blocking the loop: reports only replace the latest value, a background task writes it.</summary>
public sealed class StageProgress : IProgress<(long Done, long Total)>, IAsyncDisposable
{
    private static readonly TimeSpan Interval = TimeSpan.FromMilliseconds(500);
    private readonly StageLedger _ledger;
    private readonly long _runId;
    private readonly string _stage;
    private readonly string _jobId;
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _writer;
    private (long Done, long Total) _latest;
    private (long Done, long Total) _written = (-1, -1);

    public StageProgress(StageLedger ledger, long runId, string stage, string jobId)
    {
        _jobId = jobId;
        _ledger = ledger;
        _runId = runId;
        _stage = stage;
        _writer = Task.Run(WriteLoopAsync);
    }

    public void Report((long Done, long Total) value) => _latest = value;

    private async Task WriteLoopAsync()
    {
        using var timer = new PeriodicTimer(Interval);
        try
        {
            while (await timer.WaitForNextTickAsync(_stop.Token).ConfigureAwait(false))
            {
                var now = _latest;
                if (now == _written) continue;
                await _ledger.ReportProgressAsync(_runId, _stage, _jobId, now.Done, now.Total, _stop.Token).ConfigureAwait(false);
                _written = now;
            }
        }
        catch (OperationCanceledException)
        {
            // stage finished
        }
        catch (Npgsql.NpgsqlException)
        {
            // progress is advisory: a database hiccup must not fail the stage (its commit will report the real error)
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync().ConfigureAwait(false);
        await _writer.ConfigureAwait(false);
        _stop.Dispose();
    }
}
