using Concerto.Ingest.Jobs.Datasets;
using Concerto.Ingest.Train.Jobs;
using Concerto.Ingest.Storage.Artifacts;
using Concerto.Ingest.Storage.Catalog;
using Npgsql;

namespace Concerto.Ingest.Cli;

/// <summary>The database (started and migrated if needed), the dataset catalogue, its exporter and the training service
/// that the dataset, train and probe commands work with.</summary>
public sealed class CatalogSession : IAsyncDisposable
{
    private readonly NpgsqlDataSource _db;
    private readonly IArtifactStore _artifacts;

    private CatalogSession(NpgsqlDataSource db, string connectionString, CliEnvironment env)
    {
        _db = db;
        ConnectionString = connectionString;
        Catalog = new DatasetCatalog(db);
        _artifacts = env.OpenArtifacts();
        Exporter = new DatasetExporter(Catalog, _artifacts);
        Training = new TrainingService(Catalog, Exporter, new TrainingRunStore(db), env.Storage);
    }

    public string ConnectionString { get; }
    public NpgsqlDataSource Db => _db;
    public IArtifactStore Artifacts => _artifacts;
    public DatasetCatalog Catalog { get; }
    public DatasetExporter Exporter { get; }
    public TrainingService Training { get; }

    public static async Task<CatalogSession> OpenAsync(CancellationToken cancellationToken)
    {
        var env = new CliEnvironment();
        using var loggers = CliRun.CreateLoggers();
        var connectionString = await env.ConnectAsync(loggers, cancellationToken).ConfigureAwait(false);
#pragma warning disable CA2000 // the session owns the data source and disposes it
        return new CatalogSession(NpgsqlDataSource.Create(connectionString), connectionString, env);
#pragma warning restore CA2000
    }

    public ValueTask DisposeAsync()
    {
        (_artifacts as IDisposable)?.Dispose();
        return _db.DisposeAsync();
    }
}
