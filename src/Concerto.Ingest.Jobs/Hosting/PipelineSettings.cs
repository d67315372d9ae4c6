using Concerto.Ingest.Features;
using Concerto.Ingest.Media;
using Concerto.Ingest.Reconstruction.Classic;
using Concerto.Ingest.Storage;
using Microsoft.Extensions.Configuration;

namespace Concerto.Ingest.Jobs.Hosting;

/// <summary>A setting that cannot work; the message names each one and what to give instead.</summary>
public sealed class InvalidSettingsException(string message) : Exception(message);

/// <summary>Everything a pipeline process (the CLI, a worker, the server) is configured with: one options class per
/// appsettings section, bound once from configuration (appsettings.json, then environment variables such as
/// Concerto__Workers__Count) and validated before anything starts, so a bad setting stops the start with its name.</summary>
public sealed record PipelineSettings(StorageOptions Storage, MediaOptions Media, ReconstructionOptions Reconstruction, FeatureOptions Features,
    WorkerOptions Workers)
{
    /// <summary>Defaults everywhere, with this storage (tests, benchmarks).</summary>
    public static PipelineSettings For(StorageOptions storage) => new(storage, new(), new(), new(), new());

    /// <summary>Binds every section from <paramref name="configuration"/> and validates them.</summary>
    /// <exception cref="InvalidSettingsException">A setting cannot work (all such settings are listed).</exception>
    public static PipelineSettings Bind(IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        var storage = configuration.GetSection(StorageOptions.Section).Get<StorageOptions>() ?? new StorageOptions();
        if (configuration.GetConnectionString("Concerto") is { Length: > 0 } connectionString) storage.ConnectionString = connectionString;
        var settings = new PipelineSettings(storage,
            configuration.GetSection(MediaOptions.Section).Get<MediaOptions>() ?? new(),
            configuration.GetSection(ReconstructionOptions.Section).Get<ReconstructionOptions>() ?? new(),
            configuration.GetSection(FeatureOptions.Section).Get<FeatureOptions>() ?? new(),
            configuration.GetSection(WorkerOptions.Section).Get<WorkerOptions>() ?? new());
        settings.Validate();
        return settings;
    }

    /// <summary>Every problem of every section, each naming its setting.</summary>
    public IReadOnlyList<string> Problems() => [.. Media.Problems(), .. Reconstruction.Problems(), .. Features.Problems(), .. Workers.Problems()];

    /// <exception cref="InvalidSettingsException">A setting cannot work.</exception>
    public void Validate()
    {
        var problems = Problems();
        if (problems.Count > 0)
            throw new InvalidSettingsException(problems.Count == 1 ? problems[0] : "the configuration has problems:\n  " + string.Join("\n  ", problems));
    }
}
