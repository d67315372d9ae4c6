using Hangfire;

namespace Concerto.Ingest.Jobs.Hosting;

/// <summary>Which stage queues live Hangfire servers (workers, `concerto serve`) are already working. Another
/// `concerto ingest`'s temporary workers do not count: they stop when that ingest's own batch is done.</summary>
public static class ClusterServers
{
    private static readonly TimeSpan Alive = TimeSpan.FromSeconds(30);

    public static IReadOnlySet<string> ServedQueues(JobStorage storage)
    {
        ArgumentNullException.ThrowIfNull(storage);
        var now = DateTime.UtcNow;
        return storage.GetMonitoringApi().Servers()
            .Where(s => s.Heartbeat is { } beat && now - beat < Alive && !s.Name.StartsWith(PipelineHost.LocalServerPrefix, StringComparison.Ordinal))
            .SelectMany(s => s.Queues)
            .ToHashSet(StringComparer.Ordinal);
    }
}
