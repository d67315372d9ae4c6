using Concerto.Ingest.Features;
using Concerto.Ingest.Jobs.Ingest;
using Concerto.Ingest.Jobs.Stages;
using Concerto.Ingest.Media;
using Concerto.Ingest.Media.Decode;
using Concerto.Ingest.Media.Ffmpeg;
using Concerto.Ingest.Media.Probe;
using Concerto.Ingest.Reconstruction.Classic;
using Concerto.Ingest.Reconstruction.Onnx;
using Concerto.Ingest.Reconstruction.Vggt;
using Concerto.Ingest.Storage;
using Concerto.Ingest.Storage.Artifacts;
using Concerto.Ingest.Storage.Catalog;
using Hangfire;
using Hangfire.Common;
using Hangfire.PostgreSql;
using Hangfire.PostgreSql.Factories;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;

namespace Concerto.Ingest.Jobs.Hosting;

/// <summary>Options of the "Concerto:Workers" section.</summary>
public sealed class WorkerOptions
{
    public const string Section = "Concerto:Workers";

    /// <summary>Hangfire worker threads per process; 0 = one per core (at least 2).</summary>
    public int Count { get; set; }

    /// <summary>Seconds a stage claim lives without renewal (renewed every quarter of it while the stage runs): how soon
    /// the stage of a worker that died can be taken over.</summary>
    public int LeaseSeconds { get; set; } = 60;

    /// <summary>Seconds before Hangfire hands a job whose worker stopped sending heartbeats to another worker. Workers
    /// that restart on the same machine hand back their dead predecessor's jobs at once (see OrphanedStages).</summary>
    public int InvisibilityTimeoutSeconds { get; set; } = 300;

    public TimeSpan Lease => TimeSpan.FromSeconds(LeaseSeconds);

    public int ResolveCount() => Count > 0 ? Count : Math.Max(2, Environment.ProcessorCount);

    /// <summary>What is wrong with these settings, each naming its setting; empty when they can work.</summary>
    public IEnumerable<string> Problems()
    {
        if (Count < 0) yield return $"{Section}:Count is {Count}: give the worker threads per process, or 0 for one per core.";
        if (LeaseSeconds < 4)
            yield return $"{Section}:LeaseSeconds is {LeaseSeconds}: a stage claim must live at least 4 s (it is renewed every quarter of it); the default is 60.";
        if (InvisibilityTimeoutSeconds < 10)
            yield return $"{Section}:InvisibilityTimeoutSeconds is {InvisibilityTimeoutSeconds}: use at least 10 s (the default is 300).";
    }
}

/// <summary>The composition root the CLI, workers and the server share: each area's services in an Add&lt;Area&gt;()
/// method, composed by <see cref="AddConcertoPipeline"/>.</summary>
public static class PipelineServices
{
    /// <summary>Catalogue, artifact store, media tools, reconstruction, features, stage jobs and ingest submission, on one
    /// database, with <paramref name="settings"/> validated first.</summary>
    /// <exception cref="InvalidSettingsException">A setting cannot work.</exception>
    public static IServiceCollection AddConcertoPipeline(this IServiceCollection services, string connectionString, PipelineSettings settings)
    {
        ArgumentNullException.ThrowIfNull(settings);
        settings.Validate();
        return services
            .AddConcertoCatalog(connectionString, settings.Storage)
            .AddConcertoMedia(settings.Media)
            .AddConcertoReconstruction(settings.Reconstruction)
            .AddConcertoFeatures(settings.Features)
            .AddConcertoStages(settings.Workers);
    }

    /// <summary>The database (one data source), the catalogue stores and the artifact store.</summary>
    public static IServiceCollection AddConcertoCatalog(this IServiceCollection services, string connectionString, StorageOptions storage)
    {
        ArgumentNullException.ThrowIfNull(storage);
        services.AddSingleton(storage);
        services.AddSingleton(_ => NpgsqlDataSource.Create(connectionString));
        services.AddSingleton(sp => ArtifactStores.Create(storage, storage.S3, sp.GetService<Microsoft.Extensions.Logging.ILoggerFactory>()));
        services.AddSingleton<IngestCatalog>();
        services.AddSingleton<StageLedger>();
        services.AddSingleton<KeyframeIndex>();
        services.AddSingleton<StatusQueries>();
        services.AddSingleton<ReconstructionIndex>();
        services.AddSingleton<SegmentIndex>();
        services.AddSingleton<FeatureIndex>();
        services.AddSingleton<DatasetCatalog>();
        services.AddSingleton<TrainingRunStore>();
        services.AddSingleton<Datasets.DatasetExporter>();
        return services;
    }

    /// <summary>ffmpeg and ffprobe, probing and keyframe extraction.</summary>
    public static IServiceCollection AddConcertoMedia(this IServiceCollection services, MediaOptions media)
    {
        ArgumentNullException.ThrowIfNull(media);
        services.AddSingleton(media);
        services.AddSingleton(_ => FfmpegTools.Locate(media.FfmpegFolder));
        services.AddSingleton<VideoProber>();
        services.AddSingleton<KeyframeExtractor>();
        return services;
    }

    /// <summary>The reconstructors and their choice, with VGGT models opened once per process.</summary>
    public static IServiceCollection AddConcertoReconstruction(this IServiceCollection services, ReconstructionOptions reconstruction)
    {
        ArgumentNullException.ThrowIfNull(reconstruction);
        services.AddSingleton(reconstruction);
        services.AddSingleton<Reconstruction.Posed.CaptureReader>();
        services.AddSingleton<OpenModels<VggtModel>>();
        services.AddSingleton<ReconstructorSources>();
        services.AddSingleton<SceneReconstruction>();
        return services;
    }

    /// <summary>The image teacher, opened once per process.</summary>
    public static IServiceCollection AddConcertoFeatures(this IServiceCollection services, FeatureOptions features)
    {
        ArgumentNullException.ThrowIfNull(features);
        services.AddSingleton(features);
        services.AddSingleton<TeacherModels>();
        return services;
    }

    /// <summary>The stage jobs, their runner and ingest submission.</summary>
    public static IServiceCollection AddConcertoStages(this IServiceCollection services, WorkerOptions workers)
    {
        ArgumentNullException.ThrowIfNull(workers);
        services.AddSingleton(workers);
        services.AddSingleton<OrphanedStages>();
        services.AddSingleton<StageRunner>();
        services.AddTransient<ProbeJob>();
        services.AddTransient<DecodeJob>();
        services.AddTransient<ReconstructJob>();
        services.AddTransient<SegmentJob>();
        services.AddTransient<FeaturizeJob>();
        services.AddSingleton<IngestSubmitter>();
        services.AddSingleton<StageOutcomeFilter>();
        services.AddSingleton<IJobFilterProvider, ConcertoJobFilterProvider>(); // before AddHangfire, which only adds one if none
        return services;
    }

    /// <summary>Hangfire on the same PostgreSQL (its own schema). Sliding invisibility timeout: long stages are not
    /// handed to a second worker while the first still runs. Long polling (LISTEN/NOTIFY) picks jobs up at once.
    /// The storage is registered as this container's own instance (Hangfire's would be process-global), so one process
    /// can host pipelines on different databases (tests do).</summary>
    public static IServiceCollection AddConcertoHangfire(this IServiceCollection services, string connectionString, WorkerOptions? workers = null)
    {
        var options = HangfireStorageOptions(workers);
        services.AddSingleton<JobStorage>(_ => new PostgreSqlStorage(new NpgsqlConnectionFactory(connectionString, options), options));
        return services.AddHangfire(config => config
            .SetDataCompatibilityLevel(CompatibilityLevel.Version_180)
            .UseSimpleAssemblyNameTypeSerializer()
            .UseRecommendedSerializerSettings());
    }

    public static PostgreSqlStorageOptions HangfireStorageOptions(WorkerOptions? workers = null) => new()
    {
        SchemaName = "hangfire",
        PrepareSchemaIfNecessary = true,
        UseSlidingInvisibilityTimeout = true,
        InvisibilityTimeout = TimeSpan.FromSeconds((workers ?? new WorkerOptions()).InvisibilityTimeoutSeconds),
        EnableLongPolling = true,
        QueuePollInterval = TimeSpan.FromSeconds(2),
        DistributedLockTimeout = TimeSpan.FromMinutes(1),
    };

    /// <summary>A Hangfire server in this process (hosted service) working the given stage queues.</summary>
    public static IServiceCollection AddConcertoWorkers(this IServiceCollection services, IReadOnlyList<string> queues, int workerCount,
        string serverName) =>
        services.AddHangfireServer(o => ConfigureServer(o, queues, workerCount, serverName));

    /// <summary>The one place worker servers are configured (hosted by `serve`, or started by <see cref="PipelineHost"/>).</summary>
    public static void ConfigureServer(BackgroundJobServerOptions options, IReadOnlyList<string> queues, int workerCount, string serverName)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Queues = [.. queues];
        options.WorkerCount = workerCount;
        options.ServerName = serverName;
        options.HeartbeatInterval = TimeSpan.FromSeconds(5);
        options.ServerCheckInterval = TimeSpan.FromSeconds(30);
        options.ServerTimeout = TimeSpan.FromMinutes(1);
        options.ShutdownTimeout = TimeSpan.FromSeconds(20);
    }
}
