using Concerto.Ingest.Storage.Catalog;

namespace Concerto.Ingest.TestSupport;

public static class Batches
{
    /// <summary>Polls until every source of the batch has finished; on timeout, throws naming each source's state.</summary>
    public static async Task<IReadOnlyList<SourceProgress>> WaitAsync(StatusQueries status, long batchId, TimeSpan timeout)
    {
        ArgumentNullException.ThrowIfNull(status);
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            var rows = await status.BatchProgressAsync(batchId, CancellationToken.None).ConfigureAwait(false);
            if (rows.All(r => r.IsFinished)) return rows;
            if (DateTime.UtcNow > deadline)
                throw new TimeoutException($"batch {batchId} not finished after {timeout.TotalSeconds:0} s: " + string.Join("; ", rows.Select(r =>
                    $"{r.Path}: source {r.SourceState}, stage {r.ActiveStage} {r.ActiveState} {r.ProgressDone}/{r.ProgressTotal}, final {r.FinalState}, error {r.Error}")));
            await Task.Delay(100).ConfigureAwait(false);
        }
    }
}
