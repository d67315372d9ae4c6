using Concerto.Ingest.Synthetic.Training;
using Concerto.Ingest.Train.Data;

namespace Concerto.Ingest.Synthetic.Tests.Training;

/// <summary>The default synthetic set (8 rooms x 2 segments x 4 images), written once per test class and opened with the
/// trainer's own loader.</summary>
public sealed class SyntheticSetFixture : IAsyncLifetime
{
    public static readonly SyntheticTrainingSettings Settings = new();

    private readonly string _top = Directory.CreateTempSubdirectory("concerto-synthset-").FullName;

    public string Folder => Path.Combine(_top, "pulled");
    public SyntheticTrainingSummary Summary { get; private set; } = null!;
    public TrainingDataset Dataset { get; private set; } = null!;
    public IReadOnlyList<PointSample> Samples { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        Summary = await SyntheticTrainingSet.WriteAsync(Folder, Settings, CancellationToken.None);
        Dataset = await TrainingDataset.OpenAsync(Folder, CancellationToken.None);
        Samples = Enumerable.Range(0, Dataset.Rows.Count).Select(Dataset.Load).ToList();
    }

    public Task DisposeAsync()
    {
        Directory.Delete(_top, recursive: true);
        return Task.CompletedTask;
    }
}
