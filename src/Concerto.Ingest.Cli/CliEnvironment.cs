using Concerto.Ingest.Core.Profiles;
using Concerto.Ingest.Features;
using Concerto.Ingest.Jobs.Hosting;
using Concerto.Ingest.Media;
using Concerto.Ingest.Reconstruction.Classic;
using Concerto.Ingest.Server.Access;
using Concerto.Ingest.Storage;
using Concerto.Ingest.Storage.Artifacts;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Logging;

namespace Concerto.Ingest.Cli;

/// <summary>Configuration shared by every command: the hosts' <see cref="PipelineEnvironment"/> (appsettings.json beside
/// the program, then environment variables) plus the dashboard's access settings.</summary>
public sealed class CliEnvironment
{
    public const string DefaultProfile = "pipelines/video-default.json";

    private readonly PipelineEnvironment _pipeline;

    /// <exception cref="InvalidSettingsException">A setting cannot work (the message names it).</exception>
    public CliEnvironment()
    {
        _pipeline = new PipelineEnvironment();
        ServerAccess = Configuration.GetSection(ServerAccessOptions.Section).Get<ServerAccessOptions>() ?? new ServerAccessOptions();
    }

    public IConfiguration Configuration => _pipeline.Configuration;

    /// <summary>The pipeline's settings, bound and validated.</summary>
    public PipelineSettings Settings => _pipeline.Settings;

    /// <summary>The environment the worker hosts share.</summary>
    public PipelineEnvironment Pipeline => _pipeline;

    public StorageOptions Storage => Settings.Storage;
    public MediaOptions Media => Settings.Media;
    public WorkerOptions Workers => Settings.Workers;
    public ReconstructionOptions Reconstruction => Settings.Reconstruction;
    public FeatureOptions Features => Settings.Features;
    public ServerAccessOptions ServerAccess { get; }

    /// <summary>The database's connection string, starting the embedded cluster if needed, with the schema migrated.</summary>
    public Task<string> ConnectAsync(ILoggerFactory loggers, CancellationToken cancellationToken) => _pipeline.ConnectAsync(loggers, cancellationToken);

    /// <summary>The configured artifact store (a folder, or an S3-compatible bucket).</summary>
    public IArtifactStore OpenArtifacts() => _pipeline.OpenArtifacts();

    /// <summary>Loads a profile: the path as given, else relative to the program folder (where pipelines/ is copied).</summary>
    public static ProfileDocument LoadProfile(string? path)
    {
        var requested = string.IsNullOrWhiteSpace(path) ? DefaultProfile : path;
        var found = FindProfile(requested) ?? throw new ProfileException($"Profile '{requested}' not found. Pass an existing file with --profile (see pipelines/).");
        return ProfileDocument.Parse(File.ReadAllText(found), found);
    }

    /// <summary>A profile file: the path as given, else relative to the program folder; null when neither exists.</summary>
    public static string? FindProfile(string path) =>
        new[] { Path.GetFullPath(path), Path.Combine(AppContext.BaseDirectory, path) }.FirstOrDefault(File.Exists);
}
