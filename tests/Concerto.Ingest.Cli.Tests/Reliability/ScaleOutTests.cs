namespace Concerto.Ingest.Cli.Tests.Reliability;

/// <summary>Four worker processes on one database, stages on separate queues (probe+decode, the GPU queue reconstruct,
/// segment+featurize, and one more taking decode and segment so those queues are contested): every stage runs exactly
/// once per run, each on a worker that serves its queue, and the GPU-queue worker runs nothing else.</summary>
public sealed class ScaleOutTests
{
    [Fact]
    public async Task EveryStage_RunsExactlyOncePerRun_OnAWorkerOfItsQueue_WhenFourWorkersShareTheDatabase()
    {
        await using var scenario = await Scenario.CreateAsync();
        var captures = await Task.WhenAll(Enumerable.Range(0, 3).Select(i => SynthAsync(scenario.Artifacts, seed: 20 + i)));
        var videos = captures.Concat(await Task.WhenAll(Enumerable.Range(0, 3).Select(i => TestSupport.TestVideos.PatternAsync(seconds: 2, width: 240 + 16 * i, height: 160))))
            .ToArray();

        var front = await scenario.StartWorkerAsync("probe,decode");
        var gpu = await scenario.StartWorkerAsync("reconstruct");
        var back = await scenario.StartWorkerAsync("segment,featurize");
        var extra = await scenario.StartWorkerAsync("decode,segment");
        await scenario.IngestDetachedAsync(videos);
        await scenario.WaitUntilSettledAsync(videos.Length, TimeSpan.FromMinutes(4));
        await scenario.StopWorkersAsync();

        Assert.Equal(videos.Length, await scenario.Db.CountAsync("SELECT count(*) FROM sources WHERE state = 'succeeded'"));
        Assert.Equal(videos.Length * 4, await scenario.Db.CountAsync("SELECT count(*) FROM run_stages WHERE stage <> 'probe' AND state = 'succeeded' AND executions = 1"));
        Assert.Equal(videos.Length, await scenario.Db.CountAsync("SELECT count(*) FROM sources WHERE probe_executions = 1"));
        // Every capture is reconstructed from its poses. A pattern video may or may not give COLMAP a model (its
        // registration is randomised), which is not what this test is about.
        Assert.Equal(captures.Length, await scenario.Db.CountAsync("SELECT count(*) FROM reconstructions WHERE method = 'posed'"));
        Assert.InRange(await scenario.Db.CountAsync("SELECT count(*) FROM reconstructions"), (long)captures.Length, (long)videos.Length);

        Assert.Equal(videos.Length, await scenario.Db.CountAsync("SELECT count(*) FROM sources WHERE worker = $1", front.WorkerName));
        Assert.Equal(videos.Length, await scenario.Db.CountAsync("SELECT count(*) FROM run_stages WHERE stage = 'reconstruct' AND worker = $1", gpu.WorkerName));
        Assert.Equal(0, await scenario.Db.CountAsync("SELECT count(*) FROM run_stages WHERE stage <> 'reconstruct' AND worker = $1", gpu.WorkerName));
        Assert.Equal(videos.Length, await scenario.Db.CountAsync("SELECT count(*) FROM run_stages WHERE stage = 'decode' AND worker IN ($1, $2)",
            front.WorkerName, extra.WorkerName));
        Assert.Equal(videos.Length, await scenario.Db.CountAsync("SELECT count(*) FROM run_stages WHERE stage = 'segment' AND worker IN ($1, $2)",
            back.WorkerName, extra.WorkerName));
        Assert.Equal(videos.Length, await scenario.Db.CountAsync("SELECT count(*) FROM run_stages WHERE stage = 'featurize' AND worker = $1", back.WorkerName));
        // Hangfire agrees: one succeeded job per stage and video, none failed.
        Assert.Equal(videos.Length * 5, await scenario.Db.CountAsync("SELECT count(*) FROM hangfire.job WHERE statename = 'Succeeded'"));
        Assert.Equal(0, await scenario.Db.CountAsync("SELECT count(*) FROM hangfire.job WHERE statename <> 'Succeeded'"));
        Assert.Empty(await scenario.StrayArtifactsAsync());
    }

    internal static async Task<string> SynthAsync(string parent, int seed)
    {
        var folder = Path.Combine(parent, "..", Path.GetFileName(parent) + $"-capture-{seed}");
        var (exit, output) = await ConcertoProcess.RunAsync("", parent,
            "synth", "--seed", seed.ToString(System.Globalization.CultureInfo.InvariantCulture), "--frames", "40", "--width", "192", "--height", "144",
            "--fps", "10", "--points", "2000", "--out", folder);
        Assert.True(exit == 0, output);
        return Path.GetFullPath(Path.Combine(folder, "video.mp4"));
    }
}
