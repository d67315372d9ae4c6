using Concerto.Ingest.Core.Pipeline;
using Concerto.Ingest.Jobs.Ingest;
using Concerto.Ingest.Storage;
using Concerto.Ingest.Storage.Catalog;
using Hangfire;
using Hangfire.Common;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Concerto.Ingest.Jobs.Hosting;

/// <summary>The pipeline's services in this process, with an optional Hangfire server for the stage queues nobody
/// else is working. `concerto ingest` uses it to process its own jobs when no cluster is running, tests to run the
/// real job path.</summary>
public sealed class PipelineHost : IAsyncDisposable
{
    private readonly IHost _host;
    private readonly List<BackgroundJobServer> _servers = [];
    private readonly List<string> _localQueues = [];

    private PipelineHost(IHost host) => _host = host;

    public IServiceProvider Services => _host.Services;
    public IngestSubmitter Submitter => Services.GetRequiredService<IngestSubmitter>();
    public StatusQueries Status => Services.GetRequiredService<StatusQueries>();

    /// <summary>Cancelled when the process is asked to stop (Ctrl+C, SIGTERM): the host's console lifetime takes
    /// those signals, so long-running commands wait on this.</summary>
    public CancellationToken Stopping => Services.GetRequiredService<IHostApplicationLifetime>().ApplicationStopping;

    /// <summary>Server names of the temporary workers of `concerto ingest` processes: they leave when their batch is
    /// done, so they do not count as cluster workers.</summary>
    public const string LocalServerPrefix = "local:";

    /// <param name="addServices">More services for this process, e.g. training's (<c>AddConcertoTraining</c>) for a
    /// worker that takes the train queue.</param>
    public static async Task<PipelineHost> StartAsync(string connectionString, PipelineSettings settings, Action<ILoggingBuilder> logging,
        CancellationToken cancellationToken, Action<IServiceCollection>? addServices = null)
    {
        ArgumentNullException.ThrowIfNull(settings);
        var builder = Host.CreateEmptyApplicationBuilder(new HostApplicationBuilderSettings());
        builder.Services.AddLogging(logging);
        builder.Services.AddConcertoPipeline(connectionString, settings).AddConcertoHangfire(connectionString, settings.Workers);
        addServices?.Invoke(builder.Services);
        var host = builder.Build();
        await host.StartAsync(cancellationToken).ConfigureAwait(false);
        return new PipelineHost(host);
    }

    /// <summary>Starts a Hangfire server here for those of the given queues this process does not work yet, and
    /// returns the queues it started. A <paramref name="temporary"/> server (the one `concerto ingest` runs until its
    /// batch is done) leaves out queues that cluster workers serve, and does not count as a cluster worker for others;
    /// call again later to cover queues whose workers went away.</summary>
    public IReadOnlyList<string> StartWorkers(IReadOnlyList<string> queues, int workerCount, bool temporary)
    {
        ArgumentNullException.ThrowIfNull(queues);
        var storage = Services.GetRequiredService<JobStorage>();
        var served = temporary ? ClusterServers.ServedQueues(storage) : new HashSet<string>();
        var start = queues.Where(q => !served.Contains(q) && !_localQueues.Contains(q)).ToList();
        if (start.Count == 0) return start;
        if (_servers.Count == 0) Services.GetRequiredService<OrphanedStages>().RecoverAsync(CancellationToken.None).GetAwaiter().GetResult();

        var options = new BackgroundJobServerOptions
        {
            Activator = Services.GetRequiredService<JobActivator>(),
            FilterProvider = Services.GetRequiredService<IJobFilterProvider>(),
        };
        var name = (temporary ? LocalServerPrefix : "worker:") + Stages.StageRetry.WorkerName + (_servers.Count > 0 ? $":{_servers.Count}" : "");
        PipelineServices.ConfigureServer(options, start, workerCount, name);
        _servers.Add(new BackgroundJobServer(options, storage));
        _localQueues.AddRange(start);
        return start;
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var server in _servers) server.SendStop();
        foreach (var server in _servers)
        {
            await server.WaitForShutdownAsync(CancellationToken.None).ConfigureAwait(false);
            server.Dispose();
        }

        await _host.StopAsync().ConfigureAwait(false);
        _host.Dispose();
    }
}
