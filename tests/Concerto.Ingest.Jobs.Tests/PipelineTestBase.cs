using Concerto.Ingest.Reconstruction.Classic;
using Concerto.Ingest.Train.Jobs;
using Concerto.Ingest.Core.Profiles;
using Concerto.Ingest.Jobs.Hosting;
using Concerto.Ingest.Storage;
using Concerto.Ingest.Storage.Catalog;
using Concerto.Ingest.TestSupport;
using Microsoft.Extensions.Logging;

namespace Concerto.Ingest.Jobs.Tests;

/// <summary>A test database, an artifact folder and a pipeline with workers on every stage queue, per test.</summary>
public abstract class PipelineTestBase : IAsyncLifetime
{
    protected TestDatabase Db { get; } = new();
    protected string Artifacts { get; } = Directory.CreateTempSubdirectory("concerto-artifacts-").FullName;
    protected PipelineHost Pipeline { get; set; } = null!;

    protected static string ProfileJson { get; } = File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "pipelines", "video-default.json"));
    protected static ProfileDocument Profile { get; } = ProfileDocument.Parse(ProfileJson, "video-default.json");

    public async Task InitializeAsync()
    {
        await Db.InitializeAsync();
        Pipeline = await StartPipelineAsync();
        Pipeline.StartWorkers(Core.Pipeline.Stage.All, workerCount: 2, temporary: false);
    }

    public virtual async Task DisposeAsync()
    {
        await Pipeline.DisposeAsync();
        await Db.DisposeAsync();
        Directory.Delete(Artifacts, recursive: true);
    }

    protected Task<PipelineHost> StartPipelineAsync(ReconstructionOptions? reconstruction = null) =>
        PipelineHost.StartAsync(Db.ConnectionString,
            PipelineSettings.For(new StorageOptions { ArtifactRoot = Artifacts }) with { Reconstruction = reconstruction ?? new ReconstructionOptions() },
            b => b.SetMinimumLevel(LogLevel.Warning), CancellationToken.None, s => s.AddConcertoTraining());

    /// <summary>Submits a batch and waits (2 minutes at most) until every source has finished.</summary>
    protected async Task<IReadOnlyList<SourceProgress>> IngestAsync(ProfileDocument profile, bool force, params string[] inputs)
    {
        var submission = await Pipeline.Submitter.SubmitAsync(inputs, profile, force, CancellationToken.None);
        return await Batches.WaitAsync(Pipeline.Status, submission.BatchId, TimeSpan.FromSeconds(120));
    }
}
