using Concerto.Ingest.Jobs.Ingest;
using Concerto.Ingest.Jobs.Stages;
using Concerto.Ingest.Media.Decode;
using Concerto.Ingest.Media.Ffmpeg;
using Concerto.Ingest.Media.Probe;
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

/// <summary>Options of the "Concerto:Media" section.</summary>
public sealed class MediaOptions
{
    public const string Section = "Concerto:Media";

    /// <summary>Folder with ffmpeg and ffprobe; empty = PATH.</summary>
    public string? FfmpegFolder { get; set; }
}

/// <summary>Options of the "Concerto:Reconstruction" section.</summary>
public sealed class ReconstructionOptions
{
    public const string Section = "Concerto:Reconstruction";

    /// <summary>VGGT ONNX model used when a profile names none (reconstruct.modelPath).</summary>
    public string? VggtModel { get; set; }

    /// <summary>auto, cpu or cuda.</summary>
    public string Device { get; set; } = "auto";

    /// <summary>The COLMAP program for reconstruct.method colmap; empty: `colmap` on PATH.</summary>
    public string? ColmapPath { get; set; }
}

/// <summary>Options of the "Concerto:Features" section.</summary>
public sealed class FeatureOptions
{
    public const string Section = "Concerto:Features";

    /// <summary>Image-teacher ONNX model used when a profile names none (featurize.modelPath).</summary>
    public string? TeacherModel { get; set; }

    /// <summary>auto, cpu or cuda.</summary>
    public string Device { get; set; } = "auto";

    /// <summary>The COLMAP program for reconstruct.method colmap; empty: `colmap` on PATH.</summary>
    public string? ColmapPath { get; set; }
}

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

    public TimeSpan Lease => TimeSpan.FromSeconds(Math.Max(LeaseSeconds, 4));

    public int ResolveCount() => Count > 0 ? Count : Math.Max(2, Environment.ProcessorCount);
}

public static class PipelineServices
{
    /// <summary>Catalogue, artifact store, media tools, stage jobs and ingest submission, on one database.</summary>
    public static IServiceCollection AddConcertoPipeline(this IServiceCollection services, string connectionString,
        StorageOptions storage, MediaOptions media, ReconstructionOptions reconstruction, FeatureOptions? features = null, WorkerOptions? workers = null)
    {
        ArgumentNullException.ThrowIfNull(storage);
        ArgumentNullException.ThrowIfNull(media);
        services.AddSingleton(reconstruction);
        services.AddSingleton(features ?? new FeatureOptions());
        services.AddSingleton(workers ?? new WorkerOptions());
        services.AddSingleton(_ => NpgsqlDataSource.Create(connectionString));
        services.AddSingleton<IngestCatalog>();
        services.AddSingleton<StageLedger>();
        services.AddSingleton<KeyframeIndex>();
        services.AddSingleton<StatusQueries>();
        services.AddSingleton(sp => ArtifactStores.Create(storage, storage.S3, sp.GetService<Microsoft.Extensions.Logging.ILoggerFactory>()));
        services.AddSingleton<OrphanedStages>();
        services.AddSingleton(_ => FfmpegTools.Locate(media.FfmpegFolder));
        services.AddSingleton<VideoProber>();
        services.AddSingleton<KeyframeExtractor>();
        services.AddSingleton<StageRunner>();
        services.AddTransient<ProbeJob>();
        services.AddTransient<DecodeJob>();
        services.AddTransient<ReconstructJob>();
        services.AddSingleton<ReconstructionIndex>();
        services.AddTransient<SegmentJob>();
        services.AddSingleton<SegmentIndex>();
        services.AddSingleton<DatasetCatalog>();
        services.AddTransient<FeaturizeJob>();
        services.AddSingleton<FeatureIndex>();
        services.AddSingleton<TeacherModels>();
        services.AddSingleton<Datasets.DatasetExporter>();
        services.AddSingleton(storage);
        services.AddSingleton<TrainingRunStore>();
        services.AddSingleton<Training.TrainingService>();
        services.AddTransient<Training.TrainJob>();
        services.AddSingleton<Reconstruction.Posed.CaptureReader>();
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
        InvisibilityTimeout = TimeSpan.FromSeconds(Math.Max((workers ?? new WorkerOptions()).InvisibilityTimeoutSeconds, 10)),
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
