using Concerto.Ingest.Storage;
using Concerto.Ingest.Storage.Artifacts;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Logging;

namespace Concerto.Ingest.Jobs.Hosting;

/// <summary>What every host (the `concerto` command, the ingest worker `concerto-worker`) starts from: appsettings.json
/// beside the program, then environment variables (Concerto__StateDirectory, ConnectionStrings__Concerto, ...), bound
/// and validated once; the database to connect to; the artifact store.</summary>
public sealed class PipelineEnvironment
{
    /// <exception cref="InvalidSettingsException">A setting cannot work (the message names it).</exception>
    public PipelineEnvironment()
        : this(new ConfigurationBuilder()
            .AddJsonFile(Path.Combine(AppContext.BaseDirectory, "appsettings.json"), optional: true)
            .AddEnvironmentVariables()
            .Build())
    {
    }

    /// <exception cref="InvalidSettingsException">A setting cannot work (the message names it).</exception>
    public PipelineEnvironment(IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        Configuration = configuration;
        Settings = PipelineSettings.Bind(configuration);
    }

    public IConfiguration Configuration { get; }

    /// <summary>The pipeline's settings, bound and validated.</summary>
    public PipelineSettings Settings { get; }

    /// <summary>The database's connection string, starting the embedded cluster if needed, with the schema migrated.</summary>
    public async Task<string> ConnectAsync(ILoggerFactory loggers, CancellationToken cancellationToken)
    {
        var connectionString = await ConcertoDatabase.ResolveConnectionStringAsync(Settings.Storage, cancellationToken).ConfigureAwait(false);
        await ConcertoDatabase.MigrateAsync(connectionString, loggers, cancellationToken).ConfigureAwait(false);
        return connectionString;
    }

    /// <summary>The configured artifact store (a folder, or an S3-compatible bucket).</summary>
    public IArtifactStore OpenArtifacts() => ArtifactStores.Create(Settings.Storage, Settings.Storage.S3);
}
