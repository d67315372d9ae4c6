using System.Globalization;
using Concerto.Ingest.TestSupport;

namespace Concerto.Ingest.Cli.Tests;

/// <summary>The `concerto` program end to end, as users run it: in-process ingest, detached ingest with worker
/// processes sharing one database, status.</summary>
public sealed class ConcertoCommandTests : IAsyncLifetime
{
    private readonly TestDatabase _db = new();
    private readonly string _artifacts = Directory.CreateTempSubdirectory("concerto-cli-artifacts-").FullName;

    public Task InitializeAsync() => _db.InitializeAsync();

    public async Task DisposeAsync()
    {
        await _db.DisposeAsync();
        Directory.Delete(_artifacts, recursive: true);
    }

    [Fact]
    public async Task Ingest_ProcessesInProcess_AndExitsWith2_WhenSomeInputsFail()
    {
        var good = await TestVideos.PatternAsync(seconds: 2);
        var bad = TestVideos.TextFile("cli not a video.mp4");

        var (exit, output) = await ConcertoProcess.RunAsync(_db.ConnectionString, _artifacts, "ingest", good, bad);

        Assert.Equal(2, exit);
        Assert.Contains("1 of 2 video(s) ingested, 1 failed.", output, StringComparison.Ordinal);
        Assert.Contains($"{bad}: not a readable video", output.Replace("\n", "", StringComparison.Ordinal), StringComparison.Ordinal);
        Assert.Equal(4, await _db.CountAsync("SELECT count(*) FROM keyframes"));

        var (again, _) = await ConcertoProcess.RunAsync(_db.ConnectionString, _artifacts, "ingest", good);
        Assert.Equal(0, again);
        Assert.Equal(1, await _db.CountAsync("SELECT count(*) FROM videos"));
        Assert.Equal(4, await _db.CountAsync("SELECT count(*) FROM keyframes"));

        var (statusExit, status) = await ConcertoProcess.RunAsync(_db.ConnectionString, _artifacts, "status");
        Assert.Equal(0, statusExit);
        Assert.Contains("succeeded", status, StringComparison.Ordinal);
        Assert.Contains("cli not a video.mp4", status, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Workers_ShareABatch_EachStageRunningOncePerVideo()
    {
        var videos = await Task.WhenAll(Enumerable.Range(0, 8).Select(i => TestVideos.PatternAsync(seconds: 2, width: 320 + 16 * i, height: 180)));
        using var first = ConcertoProcess.Start(_db.ConnectionString, _artifacts, "worker", "--workers", "1");
        using var second = ConcertoProcess.Start(_db.ConnectionString, _artifacts, "worker", "--workers", "1");
        await IngestDetachedAsync(videos);
        await first.StopAsync();
        await second.StopAsync();

        Assert.Equal(videos.Length, await _db.CountAsync("SELECT count(*) FROM sources WHERE probe_executions = 1"));
        Assert.Equal(videos.Length, await _db.CountAsync("SELECT count(*) FROM run_stages WHERE stage = 'decode' AND executions = 1 AND state = 'succeeded'"));
        Assert.Equal(videos.Length * 4, await _db.CountAsync("SELECT count(*) FROM keyframes"));
        Assert.Equal(2, await _db.CountAsync("SELECT count(DISTINCT worker) FROM run_stages WHERE stage = 'decode'"));   // both did work
    }

    [Fact]
    public async Task Worker_TakesOnlyItsQueues()
    {
        var videos = await Task.WhenAll(Enumerable.Range(0, 3).Select(i => TestVideos.PatternAsync(seconds: 1, width: 200 + 16 * i, height: 120)));
        using var prober = ConcertoProcess.Start(_db.ConnectionString, _artifacts, "worker", "--queues", "probe");
        using var decoder = ConcertoProcess.Start(_db.ConnectionString, _artifacts, "worker", "--queues", "decode,reconstruct,segment,featurize");
        await IngestDetachedAsync(videos);

        // With every queue served by live workers, a plain ingest only watches, and still completes.
        var extra = await TestVideos.PatternAsync(seconds: 1, width: 400, height: 120);
        var (watchExit, watchOutput) = await ConcertoProcess.RunAsync(_db.ConnectionString, _artifacts, "ingest", extra);
        Assert.True(watchExit == 0, watchOutput);
        Assert.Contains("Running workers cover every stage: watching.", watchOutput, StringComparison.Ordinal);
        await prober.StopAsync();
        await decoder.StopAsync();

        Assert.Equal(1, await _db.CountAsync("SELECT count(DISTINCT worker) FROM sources"));
        Assert.Equal(1, await _db.CountAsync("SELECT count(DISTINCT worker) FROM run_stages WHERE stage = 'decode'"));
        Assert.Equal(0, await _db.CountAsync("SELECT count(*) FROM sources s JOIN run_stages r ON r.run_id = s.run_id AND r.stage = 'decode' WHERE s.worker = r.worker"));
    }

    /// <summary>`concerto-worker`, the ingest worker without training code: it works the stage queues beside a `concerto
    /// worker`, refuses the training queue, and its program carries no TorchSharp or libtorch.</summary>
    [Fact]
    public async Task IngestWorker_WorksTheStageQueues_WithoutLibtorch()
    {
        var deps = await File.ReadAllTextAsync(Path.Combine(AppContext.BaseDirectory, "concerto-worker.deps.json"));
        Assert.Contains("Concerto.Ingest.Jobs", deps, StringComparison.Ordinal);
        Assert.DoesNotContain("TorchSharp", deps, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("libtorch", deps, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("Concerto.Ingest.Train", deps, StringComparison.Ordinal);

        using var refused = ConcertoProcess.StartWorker(_db.ConnectionString, _artifacts, "--queues", "probe,train");
        await refused.WaitForExitAsync(TimeSpan.FromMinutes(1));
        Assert.Equal(1, refused.ExitCode);
        Assert.Contains("concerto worker --queues train", refused.Output, StringComparison.Ordinal);

        var videos = await Task.WhenAll(Enumerable.Range(0, 3).Select(i => TestVideos.PatternAsync(seconds: 1, width: 208 + 16 * i, height: 120)));
        using var ingest = ConcertoProcess.StartWorker(_db.ConnectionString, _artifacts, "--workers", "1");
        await ingest.WaitForOutputAsync("working queues", TimeSpan.FromSeconds(90));
        Assert.Contains("probe, decode, reconstruct, segment, featurize", ingest.Output, StringComparison.Ordinal);
        await WaitForServersAsync(1);
        var (exit, output) = await ConcertoProcess.RunAsync(_db.ConnectionString, _artifacts, ["ingest", "--detach", .. videos]);
        Assert.True(exit == 0, output);
        await WaitAsync("SELECT count(*) FROM sources WHERE state = 'succeeded'", videos.Length);
        await ingest.StopAsync();
        Assert.Equal(0, ingest.ExitCode);
        Assert.Equal(videos.Length, await _db.CountAsync("SELECT count(*) FROM run_stages WHERE stage = 'decode' AND state = 'succeeded'"));
        Assert.Equal(1, await _db.CountAsync("SELECT count(DISTINCT worker) FROM run_stages WHERE stage = 'decode'"));
    }

    [Fact]
    public async Task Synth_WritesACaptureFolder_AndRefusesOddSizes()
    {
        var output = Path.Combine(_artifacts, "synth out");
        var (exit, text) = await ConcertoProcess.RunAsync(_db.ConnectionString, _artifacts,
            "synth", "--seed", "3", "--frames", "3", "--width", "64", "--height", "48", "--points", "100", "--out", output);
        Assert.True(exit == 0, text);
        Assert.True(File.Exists(Path.Combine(output, "capture.json")));
        Assert.Equal(3, Directory.GetFiles(Path.Combine(output, "depth")).Length);
        Assert.Contains("ms/frame", text, StringComparison.Ordinal);

        var (bad, message) = await ConcertoProcess.RunAsync(_db.ConnectionString, _artifacts, "synth", "--width", "63", "--out", output);
        Assert.Equal(1, bad);
        Assert.Contains("--width and --height must be even", message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Dataset_CreateRefusesABadFilterWithACaret_ThenCreatesExportsAndPulls()
    {
        var capture = Path.Combine(_artifacts, "capture");
        var (synthExit, synth) = await ConcertoProcess.RunAsync(_db.ConnectionString, _artifacts,
            "synth", "--seed", "6", "--frames", "150", "--width", "320", "--height", "240", "--fps", "10", "--points", "1000", "--out", capture);
        Assert.True(synthExit == 0, synth);
        var (ingestExit, ingest, ingestLog) = await ConcertoProcess.RunSplitAsync(_db.ConnectionString, _artifacts, "ingest", Path.Combine(capture, "video.mp4"), "--json");
        Assert.True(ingestExit == 0, ingestLog);
        Assert.Equal(1, System.Text.Json.JsonDocument.Parse(ingest).RootElement.GetProperty("succeeded").GetInt32());

        var (bad, message) = await ConcertoProcess.RunAsync(_db.ConnectionString, _artifacts,
            "dataset", "create", "rooms", "--filter", "points >= 10 and scene.methd = 'posed'");
        Assert.Equal(1, bad);
        Assert.Contains("unknown field 'scene.methd' (did you mean 'scene.method'?)", message, StringComparison.Ordinal);
        Assert.Contains("points >= 10 and scene.methd = 'posed'\n                 ^^^^^^^^^^^", message, StringComparison.Ordinal);
        Assert.Equal(0, await _db.CountAsync("SELECT count(*) FROM dataset_versions"));

        var (created, createOutput) = await ConcertoProcess.RunAsync(_db.ConnectionString, _artifacts,
            "dataset", "create", "rooms", "--filter", "points >= 10 and scene.method = 'posed'", "--split", "train=0.8,val=0.2");
        Assert.True(created == 0, createOutput);
        Assert.Contains("created rooms@1", createOutput, StringComparison.Ordinal);
        var segments = await _db.CountAsync("SELECT count(*) FROM segments");
        Assert.Equal(segments, await _db.CountAsync("SELECT count(*) FROM dataset_members"));

        // stdout carries only data: every line of the JSONL export is a manifest row, whatever is logged (-v) on stderr.
        var (exported, jsonl, _) = await ConcertoProcess.RunSplitAsync(_db.ConnectionString, _artifacts, "dataset", "export", "rooms", "--format", "jsonl", "-v");
        Assert.Equal(0, exported);
        var lines = jsonl.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(segments, lines.Length);
        Assert.All(lines, l => Assert.StartsWith("{\"datasetName\":\"rooms\"", l, StringComparison.Ordinal));

        // One Parquet file per split, in the Hugging Face datasets layout; together they hold every row once.
        var perSplit = Path.Combine(_artifacts, "per split");
        var (splitExit, splitOutput) = await ConcertoProcess.RunAsync(_db.ConnectionString, _artifacts, "dataset", "export", "rooms", "--format", "parquet", "--split-files", "--out", perSplit);
        Assert.True(splitExit == 0, splitOutput);
        var files = Directory.GetFiles(Path.Combine(perSplit, "data"), "*-00000-of-00001.parquet").Select(Path.GetFileName).Order(StringComparer.Ordinal).ToList();
        Assert.NotEmpty(files);
        Assert.All(files, f => Assert.True(f!.StartsWith("train-", StringComparison.Ordinal) || f.StartsWith("val-", StringComparison.Ordinal), f));
        var splitRows = 0;
        foreach (var file in files)
        {
            await using var stream = File.OpenRead(Path.Combine(perSplit, "data", file!));
            var rows = await Concerto.Ingest.Formats.Manifests.ManifestReader.ReadParquetAsync(stream);
            Assert.All(rows, r => Assert.StartsWith(r.Split + "-", file, StringComparison.Ordinal));
            splitRows += rows.Count;
        }

        Assert.Equal(segments, splitRows);

        // --json: one JSON document on stdout, for scripts.
        var (listExit, list, _) = await ConcertoProcess.RunSplitAsync(_db.ConnectionString, _artifacts, "dataset", "list", "--json");
        Assert.Equal(0, listExit);
        Assert.Equal("rooms@1", System.Text.Json.JsonDocument.Parse(list).RootElement[0].GetProperty("label").GetString());
        var (showExit, show, _) = await ConcertoProcess.RunSplitAsync(_db.ConnectionString, _artifacts, "dataset", "show", "rooms", "--json", "-v");
        Assert.Equal(0, showExit);
        Assert.Equal(segments, System.Text.Json.JsonDocument.Parse(show).RootElement.GetProperty("segments").GetInt32());
        var (statusExit, status, _) = await ConcertoProcess.RunSplitAsync(_db.ConnectionString, _artifacts, "status", "--json");
        Assert.Equal(0, statusExit);
        Assert.Equal(1, System.Text.Json.JsonDocument.Parse(status).RootElement.GetProperty("runs").GetArrayLength());
        var runId = (await _db.CountAsync("SELECT min(id) FROM runs")).ToString(CultureInfo.InvariantCulture);
        var (evalExit, eval, _) = await ConcertoProcess.RunSplitAsync(_db.ConnectionString, _artifacts, "eval", "recon", runId, "--json");
        Assert.Equal(0, evalExit);
        var recon = System.Text.Json.JsonDocument.Parse(eval).RootElement;
        Assert.Equal("posed", recon.GetProperty("method").GetString());
        Assert.True(recon.GetProperty("cameraRmsMm").GetDouble() >= 0, eval);

        var pulled = Path.Combine(_artifacts, "pulled rooms");
        var (pullExit, pull) = await ConcertoProcess.RunAsync(_db.ConnectionString, _artifacts, "dataset", "pull", "rooms", "--out", pulled);
        Assert.True(pullExit == 0, pull);
        Assert.True(File.Exists(Path.Combine(pulled, "manifest.parquet")));
        Assert.True(File.Exists(Path.Combine(pulled, "dataset.json")));
        Assert.NotEmpty(Directory.GetFiles(Path.Combine(pulled, "splits"), "*.json"));

        var (missing, missingOutput) = await ConcertoProcess.RunAsync(_db.ConnectionString, _artifacts, "dataset", "show", "rooms", "--version", "7");
        Assert.Equal(1, missing);
        Assert.Contains("dataset 'rooms' has no version 7; it has 1", missingOutput, StringComparison.Ordinal);

        await ExportRunAsync();
    }

    /// <summary>`concerto export run` of the ingested run, judged by the tools users check reconstructions in: Debian's
    /// `colmap model_analyzer` reads the text model and reports our image and point counts; Open3D reads the PLY with
    /// colours and normals; transforms.json lists every keyframe with an image that exists.</summary>
    private async Task ExportRunAsync()
    {
        var runId = (long)await _db.CountAsync("SELECT min(id) FROM runs");
        var cameras = await _db.CountAsync($"SELECT count(*) FROM cameras WHERE run_id = {runId}");
        var points = await _db.CountAsync($"SELECT points FROM reconstructions WHERE run_id = {runId}");
        Assert.True(cameras > 0 && points > 0, $"{cameras} cameras, {points} points");

        var colmap = Path.Combine(_artifacts, "run colmap");
        var (exit, output) = await ConcertoProcess.RunAsync(_db.ConnectionString, _artifacts, "export", "run", runId.ToString(CultureInfo.InvariantCulture), "--format", "colmap", "--out", colmap);
        Assert.True(exit == 0, output);
        Assert.Equal(cameras, Directory.GetFiles(Path.Combine(colmap, "images")).Length);
        var (analyzed, stdout, stderr) = await ExternalProgram.RunAsync("colmap", ["model_analyzer", "--path", Path.Combine(colmap, "sparse", "0")], colmap);
        var report = stdout + stderr;
        Assert.True(analyzed == 0, report);
        Assert.Matches($@"Registered images: {cameras}(?!\d)", report);
        Assert.Matches($@"Points: {points}(?!\d)", report);

        var nerfstudio = Path.Combine(_artifacts, "run nerfstudio");
        (exit, output) = await ConcertoProcess.RunAsync(_db.ConnectionString, _artifacts, "export", "run", runId.ToString(CultureInfo.InvariantCulture), "--format", "nerfstudio", "--out", nerfstudio);
        Assert.True(exit == 0, output);
        var transforms = System.Text.Json.JsonDocument.Parse(await File.ReadAllTextAsync(Path.Combine(nerfstudio, "transforms.json"))).RootElement;
        var frames = transforms.GetProperty("frames").EnumerateArray().ToList();
        Assert.Equal(cameras, frames.Count);
        Assert.All(frames, f => Assert.True(File.Exists(Path.Combine(nerfstudio, f.GetProperty("file_path").GetString()!))));
        Assert.True(File.Exists(Path.Combine(nerfstudio, transforms.GetProperty("ply_file_path").GetString()!)));

        var ply = Path.Combine(_artifacts, "run ply");
        (exit, output) = await ConcertoProcess.RunAsync(_db.ConnectionString, _artifacts, "export", "run", runId.ToString(CultureInfo.InvariantCulture), "--format", "ply", "--out", ply);
        Assert.True(exit == 0, output);
        var open3d = await DebianPython.RunAsync("""
            import sys
            import open3d as o3d
            cloud = o3d.io.read_point_cloud(sys.argv[1])
            print(len(cloud.points), cloud.has_colors(), cloud.has_normals())
            """, [Path.Combine(ply, "scene.ply")], ply);
        Assert.Equal($"{points} True True", open3d.Trim());

        (exit, output) = await ConcertoProcess.RunAsync(_db.ConnectionString, _artifacts, "export", "run", runId.ToString(CultureInfo.InvariantCulture), "--format", "ply", "--out", ply);
        Assert.Equal(1, exit);
        Assert.Contains("already exists", output, StringComparison.Ordinal);
        (exit, output) = await ConcertoProcess.RunAsync(_db.ConnectionString, _artifacts, "export", "run", "999999", "--out", Path.Combine(_artifacts, "none"));
        Assert.Equal(1, exit);
        Assert.Contains("run 999999 has no reconstruction", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Worker_RefusesUnknownQueue()
    {
        var (exit, output) = await ConcertoProcess.RunAsync(_db.ConnectionString, _artifacts, "worker", "--queues", "probe,gpu-nope");
        Assert.Equal(1, exit);
        Assert.Contains("gpu-nope", output, StringComparison.Ordinal);
    }

    /// <summary>`concerto train` on a pulled-layout folder, then `concerto probe` of its checkpoint and of a random
    /// encoder; `--print-params` and a bad profile.</summary>
    [Fact]
    public async Task Train_ThenProbe_AndPrintParams()
    {
        var data = Path.Combine(_artifacts, "training data");
        await Synthetic.Training.SyntheticTrainingSet.WriteAsync(data, new Synthetic.Training.SyntheticTrainingSettings
        {
            ScenesBySplit = new Dictionary<string, int[]> { ["train"] = [1, 2], ["val"] = [101] },
            FeatureWidth = 8,
        }, CancellationToken.None);
        var profile = Path.Combine(_artifacts, "tiny.json");
        await File.WriteAllTextAsync(profile, """
            { "name": "cli-tiny", "version": 1, "model": { "size": "tiny", "patchSize": 64 },
              "data": { "batchSize": 2, "maxPoints": 3000, "localViews": 2 }, "sonata": { "hidden": 64, "bottleneck": 16, "prototypes": 32 },
              "schedule": { "steps": 10 }, "device": "cpu" }
            """);
        var run = Path.Combine(_artifacts, "run");

        var (exit, output) = await ConcertoProcess.RunAsync(_db.ConnectionString, _artifacts, "train", "--dataset", data, "--profile", profile, "--out", run, "--steps", "2");
        Assert.True(exit == 0, output);
        Assert.Contains("trained", output, StringComparison.Ordinal);
        // Spectre wraps long lines at the console width; compare without whitespace.
        Assert.Contains("imagebranchon", Squeeze(output), StringComparison.Ordinal);
        Assert.Equal(1, await _db.CountAsync("SELECT count(*) FROM training_runs WHERE state = 'succeeded' AND step = 2"));
        Assert.Equal(2, await _db.CountAsync("SELECT count(*) FROM training_metrics"));

        (exit, output) = await ConcertoProcess.RunAsync(_db.ConnectionString, _artifacts, "probe", "--dataset", data, "--checkpoint", run, "--epochs", "2");
        Assert.True(exit == 0, output);
        // The student by default, as the official downstream configs load it; the EMA teacher on request.
        Assert.Contains("linearprobeofthestudentof", Squeeze(output), StringComparison.Ordinal);
        Assert.Contains("mIoU", output, StringComparison.Ordinal);
        (exit, output) = await ConcertoProcess.RunAsync(_db.ConnectionString, _artifacts, "probe", "--dataset", data, "--checkpoint", run, "--epochs", "1", "--teacher");
        Assert.True(exit == 0, output);
        Assert.Contains("linearprobeoftheEMAteacherof", Squeeze(output), StringComparison.Ordinal);
        (exit, output) = await ConcertoProcess.RunAsync(_db.ConnectionString, _artifacts, "probe", "--dataset", data, "--random", "--profile", profile, "--epochs", "2");
        Assert.True(exit == 0, output);
        Assert.Contains("randomTinyencoder", Squeeze(output), StringComparison.Ordinal);

        // Into PyTorch's layout and back: the exported student probes and starts a new run; another size is refused.
        var pth = Path.Combine(_artifacts, "student.pth");
        (exit, output) = await ConcertoProcess.RunAsync(_db.ConnectionString, _artifacts, "export", "checkpoint", run, "--out", pth);
        Assert.True(exit == 0, output);
        Assert.Contains("147tensors", Squeeze(output), StringComparison.Ordinal);
        (exit, output) = await ConcertoProcess.RunAsync(_db.ConnectionString, _artifacts, "probe", "--dataset", data, "--checkpoint", pth, "--epochs", "1");
        Assert.True(exit == 0, output);
        Assert.Contains("PT-v3m2statedict", Squeeze(output), StringComparison.Ordinal);
        (exit, output) = await ConcertoProcess.RunAsync(_db.ConnectionString, _artifacts, "train", "--dataset", data, "--profile", profile,
            "--out", Path.Combine(_artifacts, "run from pth"), "--steps", "2", "--init-from", pth);
        Assert.True(exit == 0, output);
        var small = Path.Combine(_artifacts, "small.json");
        await File.WriteAllTextAsync(small, """{ "name": "cli-small", "version": 1, "model": { "size": "small" } }""");
        var smallPth = Path.Combine(_artifacts, "small.pth");
        (exit, output) = await ConcertoProcess.RunAsync(_db.ConnectionString, _artifacts, "export", "checkpoint", "--random", "--profile", small, "--out", smallPth);
        Assert.True(exit == 0, output);
        (exit, output) = await ConcertoProcess.RunAsync(_db.ConnectionString, _artifacts, "train", "--dataset", data, "--profile", profile,
            "--out", Path.Combine(_artifacts, "run from small"), "--steps", "2", "--init-from", smallPth);
        Assert.Equal(1, exit);
        Assert.Contains("doesnotmatchaPT-v3m2encoder", Squeeze(output), StringComparison.Ordinal);

        (exit, output) = await ConcertoProcess.RunAsync(_db.ConnectionString, _artifacts, "train", "--print-params");
        Assert.Equal(0, exit);
        foreach (var figure in new[] { "4.86M", "38.65M", "108.46M", "207.67M" }) Assert.Contains(figure, output, StringComparison.Ordinal);

        await File.WriteAllTextAsync(profile, """{ "name": "bad", "version": 1, "model": { "size": "enormous" } }""");
        (exit, output) = await ConcertoProcess.RunAsync(_db.ConnectionString, _artifacts, "train", "--dataset", data, "--profile", profile);
        Assert.Equal(1, exit);
        Assert.Contains("Unknownmodelsize'enormous'", Squeeze(output), StringComparison.Ordinal);
    }

    private static string Squeeze(string text) => string.Concat(text.Where(c => !char.IsWhiteSpace(c)));

    /// <summary>Waits for the two worker processes to register, enqueues the videos with `ingest --detach`, and waits
    /// until every one of them has succeeded.</summary>
    private async Task IngestDetachedAsync(string[] videos)
    {
        await WaitForServersAsync(2);
        var (exit, output) = await ConcertoProcess.RunAsync(_db.ConnectionString, _artifacts, ["ingest", "--detach", .. videos]);
        Assert.True(exit == 0, output);
        await WaitAsync("SELECT count(*) FROM sources WHERE state = 'succeeded'", videos.Length);
    }

    private Task WaitForServersAsync(int count) => ConcertoProcess.WaitForServersAsync(_db, count);

    private async Task WaitAsync(string countSql, long expected)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(120));
        while (await _db.CountAsync(countSql) < expected) await Task.Delay(200, timeout.Token);
    }
}
