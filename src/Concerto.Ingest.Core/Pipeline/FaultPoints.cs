namespace Concerto.Ingest.Core.Pipeline;

/// <summary>Named points in a stage where the reliability scenarios stop a worker in order to kill it there (kill -9):
/// "&lt;stage&gt;:work" (outputs half-written in staging), "&lt;stage&gt;:published" (published, not committed),
/// "&lt;stage&gt;:index" (inside the commit transaction, rows written, not committed). A process started with
/// CONCERTO_PAUSE_AT=decode:published (comma-separated for several) prints "fault point decode:published reached" to
/// stderr when it gets there and waits until it is killed or its job is cancelled. Unset, each point costs one lookup.</summary>
public static class FaultPoints
{
    public const string Variable = "CONCERTO_PAUSE_AT";

    private static readonly HashSet<string> Armed = (Environment.GetEnvironmentVariable(Variable) ?? "")
        .Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).ToHashSet(StringComparer.Ordinal);

    public static async Task ReachAsync(string point, CancellationToken cancellationToken)
    {
        if (Armed.Count == 0 || !Armed.Contains(point)) return;
        await Console.Error.WriteLineAsync($"fault point {point} reached ({Variable}); waiting to be killed").ConfigureAwait(false);
        await Console.Error.FlushAsync(cancellationToken).ConfigureAwait(false);
        await Task.Delay(Timeout.Infinite, cancellationToken).ConfigureAwait(false);
    }
}
