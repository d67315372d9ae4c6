using Concerto.Ingest.Reconstruction.Classic;
using Concerto.Ingest.Core.Profiles;
using Concerto.Ingest.Jobs.Hosting;
using Concerto.Ingest.Media.Ffmpeg;
using Concerto.Ingest.Storage;
using Concerto.Ingest.Storage.Catalog;
using Concerto.Ingest.Synthetic.Capture;
using Concerto.Ingest.Synthetic.Models;
using Concerto.Ingest.TestSupport;
using Hangfire;
using Hangfire.Common;
using Hangfire.States;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Concerto.Ingest.Jobs.Tests;

/// <summary>The real job path: Hangfire on PostgreSQL, ffprobe/ffmpeg, OpenCV, binary COPY, artifact publishing.</summary>
public sealed class IngestPipelineTests : PipelineTestBase
{
    [Fact]
    public async Task Ingest_IndexesKeyframesAndFiles_WhenVideoIsValid()
    {
        var video = await TestVideos.PatternAsync(seconds: 4);
        var rows = await IngestAsync(Profile, false, video);

        var row = Assert.Single(rows);
        Assert.True(row.Succeeded, row.Error);
        Assert.Equal(8, row.Keyframes);
        Assert.Equal(1, await Db.CountAsync("SELECT count(*) FROM videos"));
        Assert.Equal(120, await Db.CountAsync("SELECT count(*) FROM frame_scores WHERE run_id = $1", row.RunId!.Value));

        var keyframes = await new KeyframeIndex(Db.DataSource).ListKeyframesAsync(row.RunId.Value, CancellationToken.None);
        Assert.Equal(8, keyframes.Count);
        Assert.All(keyframes, k => Assert.True(File.Exists(Path.Combine(Artifacts, k.ArtifactKey)), k.ArtifactKey));
        Assert.All(keyframes, k => Assert.Equal((518, 292), (k.Width, k.Height)));
        Assert.Empty(Directory.EnumerateFileSystemEntries(Path.Combine(Artifacts, ".staging")));
    }

    [Fact]
    public async Task Ingest_AddsNoVideoAndNoRows_WhenSameContentIngestedAgain()
    {
        var video = await TestVideos.PatternAsync(seconds: 3);
        var copy = Path.Combine(TestVideos.Folder, "same bytes, other name ü.mp4");
        File.Copy(video, copy, overwrite: true);

        var first = await IngestAsync(Profile, false, video, copy);   // the same video twice in one batch
        Assert.All(first, r => Assert.True(r.Succeeded, r.Error));
        Assert.Single(first.Select(r => r.RunId).Distinct());
        var second = await IngestAsync(Profile, false, video);        // and again later

        Assert.True(Assert.Single(second).Succeeded);
        Assert.Equal(1, await Db.CountAsync("SELECT count(*) FROM videos"));
        Assert.Equal(1, await Db.CountAsync("SELECT count(*) FROM runs"));
        Assert.Equal(1, await Db.CountAsync("SELECT executions FROM run_stages WHERE stage = 'decode'"));
        Assert.Equal(90, await Db.CountAsync("SELECT count(*) FROM frame_scores"));
        Assert.Equal(6, await Db.CountAsync("SELECT count(*) FROM keyframes"));
    }

    [Fact]
    public async Task Ingest_ReplacesOutputs_WhenForcedOrProfileChanges()
    {
        var video = await TestVideos.PatternAsync(seconds: 3);
        var first = Assert.Single(await IngestAsync(Profile, false, video));
        var firstKey = await ScalarTextAsync("SELECT artifact_key FROM run_stages WHERE stage = 'decode' AND run_id = $1", first.RunId!.Value);

        var forced = Assert.Single(await IngestAsync(Profile, true, video));
        var forcedKey = await ScalarTextAsync("SELECT artifact_key FROM run_stages WHERE stage = 'decode' AND run_id = $1", forced.RunId!.Value);
        Assert.Equal(first.RunId, forced.RunId);
        Assert.NotEqual(firstKey, forcedKey);
        Assert.False(Directory.Exists(Path.Combine(Artifacts, firstKey)));   // old outputs removed
        Assert.Equal(6, await Db.CountAsync("SELECT count(*) FROM keyframes"));  // replaced, not added
        Assert.Equal(2, await Db.CountAsync("SELECT executions FROM run_stages WHERE stage = 'decode' AND run_id = $1", first.RunId.Value));

        var json = Profile.CanonicalJson.Replace("\"fps\":2", "\"fps\":1", StringComparison.Ordinal);
        var other = Assert.Single(await IngestAsync(ProfileDocument.Parse(json, "fps1"), false, video));
        Assert.NotEqual(first.RunId, other.RunId);                 // another profile = another run of the same video
        Assert.Equal(3, other.Keyframes);
        Assert.Equal(1, await Db.CountAsync("SELECT count(*) FROM videos"));
    }

    [Fact]
    public async Task Ingest_FailsBadFilesWithReason_AndFinishesTheRest()
    {
        var good = await TestVideos.PatternAsync(seconds: 2);
        string[] bad =
        [
            TestVideos.EmptyFile("zero bytes.mp4"),
            TestVideos.TextFile("text named video.mp4"),
            await TestVideos.TruncatedAsync(),
            await TestVideos.AudioOnlyAsync(),
            Path.Combine(TestVideos.Folder, "does-not-exist.mp4"),
        ];
        var rows = await IngestAsync(Profile, false, [bad[0], bad[1], good, bad[2], bad[3], bad[4]]);

        Assert.True(rows.Single(r => r.Path == good).Succeeded);
        foreach (var path in bad)
        {
            var row = rows.Single(r => r.Path == path);
            Assert.False(row.Succeeded);
            Assert.NotNull(row.Error);
            Assert.StartsWith(path, row.Error, StringComparison.Ordinal);   // names the file
            Assert.DoesNotContain('\n', row.Error);                        // one line
        }

        // the worker is still alive and working
        var again = await IngestAsync(Profile, false, await TestVideos.PatternAsync(seconds: 1));
        Assert.True(Assert.Single(again).Succeeded);
    }

    [Fact]
    public async Task Ingest_ReconstructsAPosedCapture_AndSkipsAVideoItCannotLiftWithAReason()
    {
        var capture = Directory.CreateTempSubdirectory("concerto-capture-ingest-").FullName;
        try
        {
            await new SyntheticCaptureWriter(FfmpegTools.Locate()).WriteAsync(
                new SynthSettings(Seed: 6, Frames: 30, Width: 320, Height: 240, Fps: 10, Points: 100), capture, null, CancellationToken.None);
            var plain = await TestVideos.PatternAsync(seconds: 1);
            var rows = await IngestAsync(Profile, false, Path.Combine(capture, SyntheticCaptureWriter.VideoFile), plain);
            Assert.All(rows, r => Assert.True(r.Succeeded, r.Error));

            var posed = rows[0];
            var scene = await new ReconstructionIndex(Db.DataSource).GetAsync(posed.RunId!.Value, CancellationToken.None);
            Assert.NotNull(scene);
            Assert.Equal(("posed", (string?)null), (scene.Value.Scene.Method, scene.Value.Scene.ModelHash));
            Assert.True(scene.Value.Scene.Points > 5000, $"{scene.Value.Scene.Points} points");
            Assert.True(scene.Value.Scene.FloorFound);
            Assert.Equal(posed.Keyframes, scene.Value.Cameras.Count);            // one camera per keyframe
            Assert.Equal(posed.ScenePoints, scene.Value.Scene.Points);
            foreach (var file in new[] { "coord.npy", "color.npy", "normal.npy", "scene.ply", "cameras.json" })
                Assert.True(File.Exists(Path.Combine(Artifacts, scene.Value.Scene.ArtifactKey, file)), file);
            // Per-keyframe depth at the capture's resolution, in metres for a posed capture.
            foreach (var camera in scene.Value.Cameras)
            {
                var (depth, shape) = Formats.Arrays.Npy.Read<float>(Path.Combine(Artifacts, scene.Value.Scene.ArtifactKey, "depth", $"{camera.FrameIndex:D7}.npy"));
                Assert.Equal([240, 320], shape);
                Assert.InRange(depth.Where(d => d > 0).Average(), 0.5, 8.0);
            }

            // A plain one-second video goes to the classic reconstructor (no capture, no model), which needs more than its
            // two keyframes: the stage ends, saying why.
            Assert.Null(await new ReconstructionIndex(Db.DataSource).GetAsync(rows[1].RunId!.Value, CancellationToken.None));
            Assert.Equal(1, await Db.CountAsync(
                "SELECT count(*) FROM run_stages WHERE run_id = $1 AND stage = 'reconstruct' AND state = 'succeeded' AND metrics->>'skipped' LIKE 'classic: 2 keyframe(s)%'",
                rows[1].RunId!.Value));
        }
        finally
        {
            Directory.Delete(capture, recursive: true);
        }
    }

    /// <summary>With no capture and no model, auto takes COLMAP's cameras when COLMAP is installed (scripts/setup.sh
    /// installs Debian's), and the classic reconstructor when it is not (here: Concerto:Reconstruction:ColmapPath names a
    /// program that does not exist). 640 x 480: at 320 x 240 these rooms give SIFT too few features for COLMAP to register
    /// half the keyframes (auto then falls back to classic, which tracks them).</summary>
    [Theory]
    [InlineData("colmap")]
    [InlineData("classic")]
    public async Task Ingest_WithNoCaptureAndNoModel_UsesColmapWhenInstalled_ElseClassic(string expected)
    {
        if (expected == "classic")
        {
            await Pipeline.DisposeAsync();
            Pipeline = await StartPipelineAsync(new ReconstructionOptions { ColmapPath = "/nonexistent/colmap" });
            Pipeline.StartWorkers(Core.Pipeline.Stage.All, workerCount: 2, temporary: false);
        }
        else Assert.True(Reconstruction.Classic.Colmap.ColmapReconstructor.Find(null) is not null, "colmap is not on PATH: run scripts/setup.sh");

        var capture = Directory.CreateTempSubdirectory("concerto-capture-classic-").FullName;
        var bare = Directory.CreateTempSubdirectory("concerto-bare-video-").FullName;
        try
        {
            await new SyntheticCaptureWriter(FfmpegTools.Locate()).WriteAsync(
                new SynthSettings(Seed: 3, Frames: 60, Width: 640, Height: 480, Fps: 10, Points: 100), capture, null, CancellationToken.None);
            // The video alone, without its capture.json: nothing says where the cameras are.
            var video = Path.Combine(bare, "walk.mp4");
            File.Copy(Path.Combine(capture, SyntheticCaptureWriter.VideoFile), video);
            var row = Assert.Single(await IngestAsync(Profile, false, video));
            Assert.True(row.Succeeded, row.Error);

            var scene = await new ReconstructionIndex(Db.DataSource).GetAsync(row.RunId!.Value, CancellationToken.None);
            Assert.NotNull(scene);
            Assert.Equal((expected, (string?)null), (scene.Value.Scene.Method, scene.Value.Scene.ModelHash));
            Assert.True(scene.Value.Cameras.Count >= 0.75 * row.Keyframes, $"{scene.Value.Cameras.Count} cameras for {row.Keyframes} keyframes");
            Assert.True(scene.Value.Scene.Points > 2000, $"{scene.Value.Scene.Points} points");
            Assert.Equal("true", await ScalarTextAsync(
                $"SELECT (metrics->'{expected}'->>'FocalEstimated') FROM run_stages WHERE run_id = $1 AND stage = 'reconstruct'", row.RunId.Value));
            if (expected == "colmap")
                Assert.StartsWith("COLMAP 3", await ScalarTextAsync("SELECT (metrics->'colmap'->>'Version') FROM run_stages WHERE run_id = $1 AND stage = 'reconstruct'",
                    row.RunId.Value), StringComparison.Ordinal);
        }
        finally
        {
            Directory.Delete(capture, recursive: true);
            Directory.Delete(bare, recursive: true);
        }
    }

    /// <summary>The vggt reconstructor through the whole job path, on a model whose outputs are the capture's ground
    /// truth (an oracle: real ONNX Runtime, real preprocessing of the decoded keyframes, windows of 4 stitched by Sim(3)).
    /// The scene must lie on the true surfaces and the cameras where the capture put them. Tolerances: the oracle's depth
    /// is exact up to float32 rounding, voxel means on flat surfaces stay on them, and only the few voxels straddling an
    /// edge sit inside it (measured: 0.011 mm mean, under 0.001 mm at the 95th percentile, cameras within 0.0001 mm);
    /// 0.5 mm mean and 0.1 mm at the 95th percentile fail on any real misplacement (a wrong frame, a wrong window
    /// transform, a half-pixel shift) with room for rounding.</summary>
    [Theory]
    [InlineData("depth")]
    [InlineData("pointMap")]
    public async Task Ingest_WithAVggtSignatureModel_RecoversTheCapturesCamerasAndSurfaces(string pointSource)
    {
        var capture = Directory.CreateTempSubdirectory("concerto-vggt-ingest-").FullName;
        try
        {
            var settings = new SynthSettings(Seed: 4, Frames: 40, Width: 320, Height: 240, Fps: 10, Points: 1000);
            var model = Path.Combine(capture, "oracle", "vggt.onnx");
            await new SyntheticCaptureWriter(FfmpegTools.Locate()).WriteAsync(settings, capture, null, CancellationToken.None, new OracleModelRequest(model));
            // The oracle's world is the first camera at median depth 1: 0.008 units are about 2 cm here.
            var json = File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "pipelines", "video-default.json"))
                .Replace("\"method\": \"auto\"", "\"method\": \"vggt\"", StringComparison.Ordinal)
                .Replace("\"modelPath\": null,                 // VGGT", $"\"modelPath\": \"{model}\", // VGGT", StringComparison.Ordinal)
                .Replace("\"windowSize\": 24", "\"windowSize\": 4", StringComparison.Ordinal)
                .Replace("\"overlap\": 8", "\"overlap\": 2", StringComparison.Ordinal)
                .Replace("\"voxelSize\": 0.02", "\"voxelSize\": 0.008", StringComparison.Ordinal)
                .Replace("\"pointSource\": \"depth\"", $"\"pointSource\": \"{pointSource}\"", StringComparison.Ordinal);
            var profile = ProfileDocument.Parse(json, "vggt-oracle.json");
            Assert.Equal(Core.Profiles.ReconstructMethod.Vggt, profile.Profile.Reconstruct!.Method);

            var row = Assert.Single(await IngestAsync(profile, false, Path.Combine(capture, SyntheticCaptureWriter.VideoFile)));
            Assert.True(row.Succeeded, row.Error);
            var stored = await new ReconstructionIndex(Db.DataSource).GetAsync(row.RunId!.Value, CancellationToken.None);
            Assert.NotNull(stored);
            var (scene, cameras) = stored.Value;
            Assert.Equal("vggt", scene.Method);
            Assert.Equal(64, scene.ModelHash?.Length);
            Assert.Equal(row.Keyframes, cameras.Count);
            Assert.True(cameras.Count >= 7, $"{cameras.Count} keyframes: too few for several windows");
            Assert.True(scene.FloorFound);

            var (coord, _) = Formats.Arrays.Npy.Read<float>(Path.Combine(Artifacts, scene.ArtifactKey, "coord.npy"));
            var report = Reconstruction.Evaluation.GroundTruthEvaluation.Evaluate(capture,
                cameras.Select(c => (c.Time, new Core.Geometry.V3(c.CameraToWorld[3], c.CameraToWorld[7], c.CameraToWorld[11]))).ToList(), coord);
            Assert.True(report.Alignment.MaxPositionError < 0.00001, $"camera error {report.Alignment.MaxPositionError * 1000:0.0000} mm");

            var truth = Synthetic.Scenes.SceneGenerator.Generate(settings.Seed);
            var distances = new double[coord.Length / 3];
            for (var i = 0; i < distances.Length; i++)
                distances[i] = truth.DistanceToSurface(report.Alignment.EstimatedToTruth.Apply(new Core.Geometry.V3(coord[3 * i], coord[3 * i + 1], coord[3 * i + 2])));
            Array.Sort(distances);
            Assert.True(distances.Length > 5000, $"{distances.Length} points");
            Assert.True(distances.Average() < 0.0005, $"mean distance {distances.Average() * 1000:0.000} mm");
            Assert.True(distances[(int)(0.95 * distances.Length)] < 0.0001, $"95th percentile {distances[(int)(0.95 * distances.Length)] * 1000:0.000} mm");
        }
        finally
        {
            Directory.Delete(capture, recursive: true);
        }
    }

    [Fact]
    public async Task GivingUpOnAJob_FailsItsSource_SoNobodyWaitsForever()
    {
        // Replace this class's pipeline by one with no workers: its jobs stay queued until we fail one.
        await Pipeline.DisposeAsync();
        var idle = await StartPipelineAsync();
        Pipeline = idle; // disposed with the class
        var video = await TestVideos.PatternAsync(seconds: 1);
        var submission = await idle.Submitter.SubmitAsync([video], Profile, false, CancellationToken.None);

        var storage = idle.Services.GetRequiredService<JobStorage>();
        var probeJob = Assert.Single(storage.GetMonitoringApi().EnqueuedJobs(Core.Pipeline.Stage.Probe, 0, 10)).Key;
        using (var connection = storage.GetConnection())
            connection.SetJobParameter(probeJob, "RetryCount", SerializationHelper.Serialize(Stages.StageRetry.Attempts)); // its last attempt
        var changed = idle.Services.GetRequiredService<IBackgroundJobClient>()
            .ChangeState(probeJob, new FailedState(new InvalidOperationException("worker lost its disk")));

        Assert.True(changed);
        var row = Assert.Single(await idle.Status.BatchProgressAsync(submission.BatchId, CancellationToken.None));
        Assert.True(row.IsFinished);
        Assert.False(row.Succeeded);
        Assert.Contains("worker lost its disk", row.Error, StringComparison.Ordinal);
    }

    private async Task<string> ScalarTextAsync(string sql, long arg)
    {
        await using var command = Db.DataSource.CreateCommand(sql);
        command.Parameters.Add(new Npgsql.NpgsqlParameter { Value = arg });
        return (string)(await command.ExecuteScalarAsync())!;
    }
}
