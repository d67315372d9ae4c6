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
}
