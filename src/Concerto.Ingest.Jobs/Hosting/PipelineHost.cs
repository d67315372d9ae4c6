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
    private BackgroundJobServer? _server;

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

    /// <summary>The stage queues this process works (empty when the cluster covers them all or none were asked).</summary>
    public IReadOnlyList<string> LocalQueues { get; private set; } = [];

    public static async Task<PipelineHost> StartAsync(string connectionString, StorageOptions storage, MediaOptions media,
        Action<ILoggingBuilder> logging, CancellationToken cancellationToken)
    {
        var builder = Host.CreateEmptyApplicationBuilder(new HostApplicationBuilderSettings());
        builder.Services.AddLogging(logging);
        builder.Services.AddConcertoPipeline(connectionString, storage, media).AddConcertoHangfire(connectionString);
        var host = builder.Build();
        await host.StartAsync(cancellationToken).ConfigureAwait(false);
        return new PipelineHost(host);
    }

    /// <summary>Starts a Hangfire server here for the given queues. A <paramref name="temporary"/> server (the one
    /// `concerto ingest` runs until its batch is done) takes only the queues no cluster worker serves, and does not
    /// count as a cluster worker for others.</summary>
    public IReadOnlyList<string> StartWorkers(IReadOnlyList<string> queues, int workerCount, bool temporary)
    {
        ArgumentNullException.ThrowIfNull(queues);
        var storage = Services.GetRequiredService<JobStorage>();
        var served = temporary ? ClusterServers.ServedQueues(storage) : new HashSet<string>();
        LocalQueues = queues.Where(q => !served.Contains(q)).ToList();
        if (LocalQueues.Count == 0) return LocalQueues;

        var options = new BackgroundJobServerOptions
        {
            Activator = Services.GetRequiredService<JobActivator>(),
            FilterProvider = Services.GetRequiredService<IJobFilterProvider>(),
        };
        var name = (temporary ? LocalServerPrefix : "worker:") + Stages.StageRetry.WorkerName;
        PipelineServices.ConfigureServer(options, LocalQueues, workerCount, name);
        _server = new BackgroundJobServer(options, storage);
        return LocalQueues;
    }

    public static IReadOnlyList<string> AllQueues => Stage.All;

    public async ValueTask DisposeAsync()
    {
        if (_server is not null)
        {
            _server.SendStop();
            await _server.WaitForShutdownAsync(CancellationToken.None).ConfigureAwait(false);
            _server.Dispose();
        }

        await _host.StopAsync().ConfigureAwait(false);
        _host.Dispose();
    }
}
