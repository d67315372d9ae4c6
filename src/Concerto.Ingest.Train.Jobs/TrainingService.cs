using System.Globalization;
using System.Text.Json;
using Concerto.Ingest.Formats.Datasets;
using Concerto.Ingest.Jobs.Datasets;
using Concerto.Ingest.Storage;
using Concerto.Ingest.Storage.Catalog;
using Concerto.Ingest.Train.Optimization;
using Concerto.Ingest.Train.Pretraining;
using Concerto.Ingest.Train.Profiles;

namespace Concerto.Ingest.Train.Jobs;

/// <summary>A training request as users and jobs give it.</summary>
/// <param name="Dataset">A dataset version "name" or "name@version" from the catalogue, or a pulled folder or manifest path.</param>
/// <param name="ProfilePath">A training profile, e.g. pipelines/concerto-tiny.json.</param>
/// <param name="OutputDir">The run's folder; null: state/training/&lt;profile&gt;-&lt;dataset&gt;. A folder with checkpoints resumes.</param>
/// <param name="Steps">Overrides the profile's length in optimizer steps.</param>
/// <param name="ProfileJson">The profile's text, carried by queued jobs so workers need not see the file; null: read
/// <paramref name="ProfilePath"/>.</param>
public sealed record TrainRequest(string Dataset, string ProfilePath, string? OutputDir = null, long? Steps = null, string? ProfileJson = null,
    string? InitFrom = null);

/// <summary>A dataset ready for the trainer: its local folder, its label and its catalogue id (null outside the catalogue).</summary>
public sealed record MaterializedDataset(string Folder, string Label, long? VersionId);

/// <summary>Runs Concerto pretraining for the CLI and the train job: materialises the dataset version (pulled once into
/// state/datasets/, reused after), records the run and its per-step metrics in PostgreSQL beside the run folder's CSV,
/// and ends the run's row as succeeded, failed or cancelled.</summary>
public sealed class TrainingService(DatasetCatalog catalog, DatasetExporter exporter, TrainingRunStore runs, StorageOptions storage)
{
    public async Task<MaterializedDataset> MaterializeAsync(string dataset, IProgress<(int Done, int Total)>? progress, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(dataset);
        if (Directory.Exists(dataset) || File.Exists(dataset)) return new MaterializedDataset(Path.GetFullPath(dataset), Path.GetFullPath(dataset), null);
        var at = dataset.LastIndexOf('@');
        int? number = null;
        if (at > 0)
        {
            if (!int.TryParse(dataset.AsSpan(at + 1), NumberStyles.None, CultureInfo.InvariantCulture, out var n))
                throw new ArgumentException($"'{dataset}' is neither an existing folder or manifest nor NAME or NAME@VERSION of a dataset.");
            number = n;
        }

        var version = await catalog.GetAsync(at > 0 ? dataset[..at] : dataset, number, cancellationToken).ConfigureAwait(false);
        var folder = Path.Combine(storage.ResolveStateDirectory(), "datasets", DatasetCatalog.LocalFolderName(version));
        if (!File.Exists(Path.Combine(folder, DatasetLayout.ManifestFile)))
            await exporter.WriteFolderAsync(version, folder, withManifest: true, progress, cancellationToken).ConfigureAwait(false);
        return new MaterializedDataset(folder, version.Label, version.Id);
    }

    /// <summary>Default run folder of a profile and dataset.</summary>
    public string DefaultOutput(string profileName, string datasetLabel) =>
        Path.Combine(storage.ResolveStateDirectory(), "training", $"{profileName}-{Path.GetFileName(datasetLabel.TrimEnd('/', Path.DirectorySeparatorChar))}");

    public async Task<(long RunId, PretrainResult Result)> TrainAsync(TrainRequest request, string? jobId, IProgress<TrainingProgress>? progress,
        CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        var (profile, canonical, hash) = request.ProfileJson is { } json ? TrainingProfile.Parse(json, request.ProfilePath) : TrainingProfile.Load(request.ProfilePath);
        var data = await MaterializeAsync(request.Dataset, null, cancellationToken).ConfigureAwait(false);
        var output = Path.GetFullPath(request.OutputDir ?? DefaultOutput(profile.Name, data.Label));
        var runId = await runs.StartAsync(new TrainingRunStart("pretrain", output, data.VersionId, data.Label, canonical, hash, profile.Model.Size, profile.Seed,
            request.Steps ?? profile.Schedule.Steps ?? 0, jobId), cancellationToken).ConfigureAwait(false);
        try
        {
            var result = await new ConcertoTrainer().RunAsync(new PretrainRequest(data.Folder, data.Label, profile, canonical, hash, output, request.Steps,
                request.InitFrom),
                [new PostgresMetricsSink(runs, runId)], progress, cancellationToken).ConfigureAwait(false);
            await runs.FinishAsync(runId, "succeeded", null, JsonSerializer.Serialize(new
            {
                steps = result.TotalSteps,
                pointsPerSecond = result.PointsPerSecond,
                loaderWaitSeconds = result.LoaderWait.TotalSeconds,
                checkpoint = result.LastCheckpoint,
                crossModal = result.CrossModal,
            }), CancellationToken.None).ConfigureAwait(false);
            return (runId, result);
        }
        catch (OperationCanceledException)
        {
            await runs.FinishAsync(runId, "cancelled", null, null, CancellationToken.None).ConfigureAwait(false);
            throw;
        }
        catch (Exception e)
        {
            await runs.FinishAsync(runId, "failed", e.Message, null, CancellationToken.None).ConfigureAwait(false);
            throw;
        }
    }
}

/// <summary>Per-step metrics into training_metrics.</summary>
public sealed class PostgresMetricsSink(TrainingRunStore runs, long runId) : ITrainingMetricsSink
{
    public async ValueTask WriteAsync(TrainingMetrics row, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(row);
        await runs.RecordAsync(runId, new TrainingMetricRow(row.Step, row.Epoch, row.Seconds, row.LearningRate, row.WeightDecay, row.Values), ct)
            .ConfigureAwait(false);
    }
}
