using Concerto.Ingest.Train.Jobs;
using Concerto.Ingest.Storage.Catalog;
using Concerto.Ingest.Synthetic.Training;
using Hangfire;
using Microsoft.Extensions.DependencyInjection;

namespace Concerto.Ingest.Jobs.Tests.Training;

/// <summary>Pretraining as a Hangfire job: a worker on the train queue runs it, and the run and its per-step metrics
/// land in PostgreSQL beside the run folder's CSV.</summary>
public sealed class TrainJobTests : PipelineTestBase
{
    private const string TrainingProfile = """
        {
          "name": "job-tiny", "version": 1,
          "model": { "size": "tiny", "patchSize": 64 },
          "data": { "batchSize": 2, "maxPoints": 3000, "localViews": 2, "workers": 1 },
          "sonata": { "hidden": 64, "bottleneck": 16, "prototypes": 32 },
          "schedule": { "steps": 3, "checkpointEvery": 2 },
          "device": "cpu", "seed": 3
        }
        """;

    [Fact]
    public async Task TrainJob_OnTheTrainQueue_RecordsTheRunAndEveryStep()
    {
        var folder = Directory.CreateTempSubdirectory("concerto-train-job-").FullName;
        try
        {
            var data = Path.Combine(folder, "data");
            await SyntheticTrainingSet.WriteAsync(data, new SyntheticTrainingSettings
            {
                ScenesBySplit = new Dictionary<string, int[]> { ["train"] = [1, 2], ["val"] = [101] },
                FeatureWidth = 8,
            }, CancellationToken.None);
            var profile = Path.Combine(folder, "profile.json");
            await File.WriteAllTextAsync(profile, TrainingProfile);
            var output = Path.Combine(folder, "run");

            Pipeline.StartWorkers([TrainJob.Queue], workerCount: 1, temporary: false);
            var jobs = Pipeline.Services.GetRequiredService<IBackgroundJobClient>();
            var id = jobs.Enqueue<TrainJob>(j => j.RunAsync(new TrainRequest(data, profile, output, null), null, CancellationToken.None));

            var runs = Pipeline.Services.GetRequiredService<TrainingRunStore>();
            var deadline = DateTime.UtcNow.AddSeconds(180);
            TrainingRunRow? run = null;
            while (run?.State is null or "running")
            {
                Assert.True(DateTime.UtcNow < deadline, $"train job {id} not finished after 180 s (state {run?.State ?? "not started"})");
                await Task.Delay(250);
                run = (await runs.ListAsync(10, CancellationToken.None)).SingleOrDefault();
            }

            Assert.Equal("succeeded", run!.State);
            Assert.Equal(id, run.JobId);
            Assert.Equal(3, run.Step);
            Assert.Equal(output, run.OutputDir);
            Assert.Equal("tiny", run.ModelSize);
            Assert.Contains("\"crossModal\": true", run.ResultsJson, StringComparison.Ordinal);
            var metrics = await runs.MetricsAsync(run.Id, CancellationToken.None);
            Assert.Equal([1L, 2, 3], metrics.Select(m => m.Step));
            Assert.All(metrics, m => Assert.True(m.Values["loss"] > 0 && m.Values.ContainsKey("cross_modal") && m.LearningRate > 0));
            Assert.Equal(4, (await File.ReadAllLinesAsync(Path.Combine(output, "metrics.csv"))).Length);
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }
}
