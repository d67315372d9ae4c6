using Concerto.Ingest.Storage.Artifacts;
using Concerto.Ingest.TestSupport;

namespace Concerto.Ingest.Cli.Tests.Reliability;

/// <summary>kill -9 of a worker in the middle of a stage: with its outputs half-written in staging, published but not
/// committed, or inside the commit transaction. A worker started afterwards finishes the run, and the database and the
/// artifact store end up exactly as after an uninterrupted run: same rows, byte-identical files, nothing left over.</summary>
public sealed class CrashRecoveryTests(CrashRecoveryTests.Capture capture) : IClassFixture<CrashRecoveryTests.Capture>
{
    /// <summary>A synthetic capture (posed, so every stage does real work), and what an uninterrupted ingest of it leaves.</summary>
    public sealed class Capture : IAsyncLifetime
    {
        public string Folder { get; } = Directory.CreateTempSubdirectory("concerto-crash-capture-").FullName;
        public string Video => Path.Combine(Folder, "video.mp4");
        public Outputs Reference { get; private set; } = null!;

        public async Task InitializeAsync()
        {
            var (exit, output) = await ConcertoProcess.RunAsync("", Folder,
                "synth", "--seed", "11", "--frames", "90", "--width", "256", "--height", "192", "--fps", "10", "--points", "4000", "--out", Folder);
            Assert.True(exit == 0, output);

            await using var scenario = await Scenario.CreateAsync();
            await scenario.StartWorkerAsync();
            await scenario.IngestDetachedAsync(Video);
            await scenario.WaitUntilSettledAsync(1, TimeSpan.FromMinutes(3));
            Assert.Equal("1:succeeded", await scenario.StatesAsync());
            Reference = await scenario.OutputsAsync();
            await scenario.StopWorkersAsync();
        }

        public Task DisposeAsync()
        {
            Directory.Delete(Folder, recursive: true);
            return Task.CompletedTask;
        }
    }

    [Theory]
    [InlineData("decode:work")]
    [InlineData("decode:index")]
    [InlineData("reconstruct:work")]
    [InlineData("reconstruct:published")]
    [InlineData("segment:published")]
    [InlineData("segment:index")]
    public async Task Run_CompletesWithIdenticalOutputsAndNothingLeftOver_WhenItsWorkerIsKilledMidStage(string point)
    {
        await using var scenario = await Scenario.CreateAsync();
        var doomed = await scenario.StartWorkerAsync(pauseAt: point);
        await scenario.IngestDetachedAsync(capture.Video);
        await doomed.WaitForOutputAsync($"fault point {point} reached", TimeSpan.FromMinutes(2));

        await doomed.KillAsync();
        var stage = point.Split(':')[0];
        if (point.EndsWith(":published", StringComparison.Ordinal))
            Assert.Equal(1, await scenario.Db.CountAsync($"SELECT count(*) FROM run_stages WHERE stage = '{stage}' AND publishing_key IS NOT NULL"));

        // The replacement worker on this machine sees the dead process's claim and hands its job back at once.
        var survivor = await scenario.StartWorkerAsync();
        await scenario.WaitUntilSettledAsync(1, TimeSpan.FromMinutes(3));
        await scenario.StopWorkersAsync();

        Assert.Equal("1:succeeded", await scenario.StatesAsync());
        Assert.Equal(0, await scenario.Db.CountAsync("SELECT count(*) FROM run_stages WHERE state <> 'succeeded'"));
        Assert.Equal(2, await scenario.Db.CountAsync($"SELECT executions FROM run_stages WHERE stage = '{stage}'"));
        Assert.Equal(0, await scenario.Db.CountAsync($"SELECT count(*) FROM run_stages WHERE stage NOT IN ('probe', '{stage}') AND executions <> 1"));
        Assert.Contains("died while running it", survivor.Output, StringComparison.Ordinal);

        var outputs = await scenario.OutputsAsync();
        Assert.Equal(capture.Reference.Rows, outputs.Rows);
        Assert.Equal(capture.Reference.Files, outputs.Files);
        Assert.Empty(await scenario.StrayArtifactsAsync());
    }

    /// <summary>Workers on two "machines" (separate caches) sharing an S3-compatible bucket (a real moto server) instead of a
    /// folder; the first is killed after publishing its reconstruction and before committing it. The run completes with
    /// the same rows and files as the folder-store run, and the bucket holds nothing but the committed outputs.</summary>
    [Fact]
    public async Task Run_GivesTheSameOutputsAndLeavesNoStrayObjects_WhenArtifactsGoToAnS3BucketAndAWorkerIsKilled()
    {
        await using var moto = new MotoServer();
        await moto.InitializeAsync();
        var bucket = MotoServer.NewBucketName();
        await using var scenario = await Scenario.CreateAsync();
        Dictionary<string, string> Machine(string name) => new()
        {
            ["Concerto__S3__ServiceUrl"] = moto.Url.ToString(),
            ["Concerto__S3__Bucket"] = bucket,
            ["Concerto__S3__Prefix"] = "corpus",
            ["Concerto__S3__AccessKey"] = MotoServer.AccessKey,
            ["Concerto__S3__SecretKey"] = MotoServer.SecretKey,
            ["Concerto__S3__CreateBucket"] = "true",
            ["Concerto__S3__CacheDirectory"] = Path.Combine(scenario.Artifacts, name),
        };

        var doomed = await scenario.StartWorkerAsync(pauseAt: "reconstruct:published", environment: Machine("machine-a"));
        await scenario.IngestDetachedAsync(capture.Video);
        await doomed.WaitForOutputAsync("fault point reconstruct:published reached", TimeSpan.FromMinutes(2));
        await doomed.KillAsync();
        await scenario.StartWorkerAsync(environment: Machine("machine-a"));
        await scenario.StartWorkerAsync(queues: "segment,featurize", environment: Machine("machine-b"));
        await scenario.WaitUntilSettledAsync(1, TimeSpan.FromMinutes(3));
        await scenario.StopWorkersAsync();

        Assert.Equal("1:succeeded", await scenario.StatesAsync());
        Assert.Equal(2, await scenario.Db.CountAsync("SELECT executions FROM run_stages WHERE stage = 'reconstruct'"));
        Assert.True(Directory.Exists(Path.Combine(scenario.Artifacts, "machine-b", "objects")), "the second machine read through its own cache");
        using var reader = new S3ArtifactStore(moto.Options(bucket, Path.Combine(scenario.Artifacts, "checker"), prefix: "corpus"));
        var outputs = await scenario.OutputsAsync(reader);
        Assert.Equal(capture.Reference.Rows, outputs.Rows);
        Assert.Equal(capture.Reference.Files, outputs.Files);

        var committed = await scenario.CommittedKeysAsync();
        using var client = moto.CreateClient();
        var objects = new List<string>();
        var request = new Amazon.S3.Model.ListObjectsV2Request { BucketName = bucket, Prefix = "corpus/" };
        Amazon.S3.Model.ListObjectsV2Response page;
        do
        {
            page = await client.ListObjectsV2Async(request);
            objects.AddRange((page.S3Objects ?? []).Select(o => o.Key));
            request.ContinuationToken = page.NextContinuationToken;
        }
        while (page.IsTruncated == true);

        Assert.NotEmpty(objects);
        Assert.All(objects, o => Assert.Contains(committed, key => o.StartsWith($"corpus/{key}/", StringComparison.Ordinal)));
    }
}
