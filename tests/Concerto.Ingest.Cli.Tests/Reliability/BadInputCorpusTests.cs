using System.Diagnostics;
using System.Globalization;
using System.Runtime.Versioning;
using System.Text.RegularExpressions;
using Concerto.Ingest.Storage.Catalog;
using Concerto.Ingest.TestSupport;
using Xunit.Abstractions;

namespace Concerto.Ingest.Cli.Tests.Reliability;

/// <summary>A corpus of bad and awkward inputs ingested as one batch by two `concerto worker` processes: each file either
/// ingests correctly or is rejected with a reason that names the problem, the good files all complete, and the workers
/// keep running (and stop cleanly on SIGTERM). Linux only (/proc, file modes), like the product.</summary>
[SupportedOSPlatform("linux")]
[Collection(nameof(BadInputCorpusTests))]
public sealed partial class BadInputCorpusTests(ITestOutputHelper output) : IAsyncLifetime
{
    private const long MiB = 1024 * 1024;

    private readonly TestDatabase _db = new();
    private readonly string _artifacts = Directory.CreateTempSubdirectory("concerto-corpus-artifacts-").FullName;
    private readonly string _corpus = Directory.CreateTempSubdirectory("concerto-corpus-").FullName;

    public Task InitializeAsync() => _db.InitializeAsync();

    public async Task DisposeAsync()
    {
        await _db.DisposeAsync();
        Directory.Delete(_artifacts, recursive: true);
        Directory.Delete(_corpus, recursive: true);
    }

    /// <summary>What a corpus file must come to: rejected with a reason containing <see cref="Reason"/>, or (Reason null)
    /// ingested with the displayed size, keyframe size and keyframe count given.</summary>
    private sealed record Case(string Name, string? Reason, (int W, int H) Display = default, (int W, int H) Keyframe = default, int Keyframes = 0);

    [Fact]
    public async Task Corpus_EachFileIngestsOrIsRejectedWithItsReason_AndWorkersKeepRunning()
    {
        var clock = Stopwatch.StartNew();
        var cases = await BuildCorpusAsync();
        output.WriteLine($"corpus of {cases.Count} files made in {clock.Elapsed.TotalSeconds:0.0} s");

        // Reconstruction is not what this corpus tests: without COLMAP the patterns go to classic, which turns them down at
        // once, so the workers' peak memory below measures decoding (COLMAP's stereo on a pattern's cameras would add
        // libtorch and a plane sweep, ~0.5 GB, and minutes).
        var withoutColmap = new Dictionary<string, string> { ["Concerto__Reconstruction__ColmapPath"] = "/nonexistent/colmap" };
        using var first = ConcertoProcess.Start(_db.ConnectionString, _artifacts, withoutColmap, "worker", "--workers", "1");
        using var second = ConcertoProcess.Start(_db.ConnectionString, _artifacts, withoutColmap, "worker", "--workers", "1");
        IReadOnlyList<SourceProgress> rows;
        long firstPeak, secondPeak;
        (long Bytes, string Command) childPeak;
        await using (var memory = new ProcessTreeMemory(first.Id, second.Id))
        {
            await WaitForServersAsync(2);
            var (exit, submitted) = await ConcertoProcess.RunAsync(_db.ConnectionString, _artifacts, "ingest", "--detach", _corpus);
            Assert.True(exit == 0, submitted);
            var batchId = long.Parse(BatchLine().Match(submitted).Groups[1].Value, CultureInfo.InvariantCulture);
            Assert.Contains($"{cases.Count} file(s)", submitted, StringComparison.Ordinal);   // the folder gave every file, odd names too

            rows = await Batches.WaitAsync(new StatusQueries(_db.DataSource), batchId, TimeSpan.FromMinutes(3));   // ~30 s alone
            output.WriteLine($"batch finished after {clock.Elapsed.TotalSeconds:0.0} s");
            foreach (var row in rows)
                output.WriteLine($"{Path.GetFileName(row.Path)}: {row.SourceState}, {row.Keyframes} keyframes, {row.FinishedAt - row.StartedAt}{(row.Error is null ? "" : ", " + row.Error)}");
            await WaitForJobsToEndAsync();

            // Workers never crash: both still running after the whole corpus.
            Assert.False(first.HasExited, first.Output);
            Assert.False(second.HasExited, second.Output);
            (firstPeak, secondPeak) = (ProcessTreeMemory.HighWaterMark(first.Id), ProcessTreeMemory.HighWaterMark(second.Id));
            childPeak = memory.PeakChild;
            // The sampling saw the tools at work (short ffprobe runs may slip between samples; decodes do not).
            Assert.True(memory.ChildrenSeen >= 5, $"only {memory.ChildrenSeen} ffprobe/ffmpeg processes sampled");
        }

        output.WriteLine($"peak memory: workers {firstPeak / MiB} / {secondPeak / MiB} MiB, largest child {childPeak.Command} {childPeak.Bytes / MiB} MiB");

        Assert.Equal(cases.Count, rows.Count);
        foreach (var c in cases)
        {
            var row = Assert.Single(rows, r => r.Path == Path.Combine(_corpus, c.Name));
            if (c.Reason is null) await AssertIngestedAsync(c, row);
            else AssertRejected(c, row);
        }

        // Cut inside the media data: the header is intact, so the decode stage finds it, saying how much is missing
        // and what ffmpeg saw (whole messages, no decoder addresses).
        var truncatedRow = rows.Single(r => r.Path.EndsWith("truncated media.mp4", StringComparison.Ordinal));
        var truncated = truncatedRow.Error!;
        Assert.Contains("of the 240 frames its header promises", truncated, StringComparison.Ordinal);
        Assert.Contains("partial file", truncated, StringComparison.Ordinal);
        Assert.DoesNotContain("@ 0x", truncated, StringComparison.Ordinal);
        Assert.Equal(1, await _db.CountAsync(
            "SELECT count(*) FROM run_stages WHERE run_id = $1 AND stage = 'decode' AND state = 'failed' AND error = $2", truncatedRow.RunId!.Value, truncated));

        await AssertVariableFrameRateAsync(rows.Single(r => r.Path.EndsWith("variable frame rate.mp4", StringComparison.Ordinal)));
        await AssertManyFramesAsync(rows.Single(r => r.Path.EndsWith("3000 frames.mp4", StringComparison.Ordinal)));
        Assert.Equal(2, await _db.CountAsync("SELECT count(DISTINCT worker) FROM sources"));   // both workers took files
        // Bad input is final and never retried; nothing reached Hangfire's failed state.
        Assert.Equal(0, await _db.CountAsync("SELECT count(*) FROM sources WHERE probe_executions > 1 OR state IN ('failed', 'retrying')"));
        Assert.Equal(0, await _db.CountAsync("SELECT count(*) FROM run_stages WHERE executions > 1"));
        Assert.Equal(0, await _db.CountAsync("SELECT count(*) FROM hangfire.job WHERE statename = 'Failed'"));

        // The 8K video is decoded at keyframe size inside ffmpeg: neither the workers nor ffmpeg hold full frames.
        Assert.True(firstPeak < 512 * MiB && secondPeak < 512 * MiB, $"worker peak memory {firstPeak / MiB} / {secondPeak / MiB} MiB");
        Assert.True(childPeak.Bytes < 1536 * MiB, $"{childPeak.Command} peaked at {childPeak.Bytes / MiB} MiB");

        // `concerto status` lists every rejected file with its reason (the reason names the file).
        var (statusExit, status) = await ConcertoProcess.RunAsync(_db.ConnectionString, _artifacts, "status", "-n", "50");
        Assert.True(statusExit == 0, status);
        Assert.Contains("Recently rejected files:", status, StringComparison.Ordinal);
        foreach (var row in rows.Where(r => !r.Succeeded))
            Assert.Contains(Squeeze(row.Error!), Squeeze(status), StringComparison.Ordinal);
        Assert.Contains("7680x4320", Squeeze(status), StringComparison.Ordinal);

        // And they stop cleanly when asked to, as a process manager would.
        await first.StopAsync();
        await second.StopAsync();
        foreach (var worker in new[] { first, second })
        {
            Assert.True(worker.ExitCode == 0, worker.Output);
            Assert.Contains("stopping worker...", worker.Output, StringComparison.Ordinal);
            Assert.DoesNotContain("Unhandled exception", worker.Output, StringComparison.Ordinal);
        }

        output.WriteLine($"scenario took {clock.Elapsed.TotalSeconds:0.0} s");
    }

    /// <summary>Writes the corpus into its own folder (ingested as that folder, the way a user names a folder of videos)
    /// and returns what each file must come to. Every video has its own bytes, so none is deduplicated into another.</summary>
    private async Task<IReadOnlyList<Case>> BuildCorpusAsync()
    {
        var made = new Dictionary<string, Task<string>>
        {
            ["control 640x360.mp4"] = TestVideos.PatternAsync(seconds: 2, width: 640, height: 360),
            ["control 400x224.mp4"] = TestVideos.PatternAsync(seconds: 2, width: 400, height: 224),
            ["truncated media.mp4"] = TestVideos.TruncatedAsync(),
            ["truncated before index.mp4"] = TestVideos.CutBeforeIndexAsync(),
            ["audio only.mp4"] = TestVideos.AudioOnlyAsync(),
            ["huge 7680x4320.mp4"] = TestVideos.HugeAsync(),
            ["rotated 90.mp4"] = TestVideos.RotatedAsync(90),
            ["rotated 270.mp4"] = TestVideos.RotatedAsync(270),
            ["variable frame rate.mp4"] = TestVideos.VariableFrameRateAsync(),
            ["3000 frames.mp4"] = TestVideos.ManyFramesAsync(3000, fps: 100),
            ["audio outlasts video.mkv"] = TestVideos.AudioOutlastsVideoAsync(),
            ["unreadable.mp4"] = TestVideos.PatternAsync(seconds: 2, width: 256, height: 144),
            ["name with spaces.mp4"] = TestVideos.PatternAsync(seconds: 2, width: 320, height: 240),
            ["café vidéo 日本.mp4"] = TestVideos.PatternAsync(seconds: 2, width: 480, height: 270),
            ["[draft] take (2) 'final'.mp4"] = TestVideos.PatternAsync(seconds: 2, width: 352, height: 198),
        };
        await Task.WhenAll(made.Values);
        foreach (var (name, source) in made) File.Copy(await source, Path.Combine(_corpus, name));
        await File.WriteAllBytesAsync(Path.Combine(_corpus, "zero bytes.mp4"), []);
        await File.WriteAllTextAsync(Path.Combine(_corpus, "text named video.mp4"), "this is not a video\n");

        // Unreadable: rejected for a user the permissions stop; root reads it anyway (CI runs as root), so there it must
        // ingest like any other video. Which one applies is decided by trying, as this same user, to open it.
        var unreadable = Path.Combine(_corpus, "unreadable.mp4");
        File.SetUnixFileMode(unreadable, UnixFileMode.None);
        var permissionsApply = !CanOpen(unreadable);
        output.WriteLine($"unreadable.mp4 readable by this user: {!permissionsApply}");

        return
        [
            new("control 640x360.mp4", null, (640, 360), (518, 292), 4),
            new("control 400x224.mp4", null, (400, 224), (400, 224), 4),
            new("zero bytes.mp4", "file is empty (0 bytes)"),
            new("text named video.mp4", "not a readable video: it holds text, not video data"),
            new("truncated before index.mp4", "not a readable video: an MP4/MOV file without its index (moov atom), so it is incomplete"),
            new("truncated media.mp4", "truncated: decoded "),
            new("audio only.mp4", "has no video stream (audio only)"),
            new("huge 7680x4320.mp4", null, (7680, 4320), (518, 292), 2),
            new("rotated 90.mp4", null, (360, 640), (360, 640), 4),
            new("rotated 270.mp4", null, (360, 640), (360, 640), 4),
            new("variable frame rate.mp4", null, (320, 180), (320, 180), 8),
            new("3000 frames.mp4", null, (160, 90), (160, 90), 60),
            new("audio outlasts video.mkv", null, (320, 180), (320, 180), 4),   // 2 s of picture in a 10 s container
            permissionsApply
                ? new("unreadable.mp4", "cannot be read (permission denied)")
                : new("unreadable.mp4", null, (256, 144), (256, 144), 4),
            new("name with spaces.mp4", null, (320, 240), (320, 240), 4),
            new("café vidéo 日本.mp4", null, (480, 270), (480, 270), 4),
            new("[draft] take (2) 'final'.mp4", null, (352, 198), (352, 198), 4),
        ];
    }

    private async Task AssertIngestedAsync(Case c, SourceProgress row)
    {
        Assert.True(row.Succeeded, $"{c.Name}: {row.SourceState}: {row.Error}");
        Assert.Null(row.Error);
        Assert.Equal(c.Keyframes, row.Keyframes);

        await using var command = _db.DataSource.CreateCommand("""
            SELECT v.width, v.height, v.rotation, v.path, min(k.width), max(k.width), min(k.height), max(k.height), min(k.artifact_key)
            FROM sources s JOIN videos v ON v.id = s.video_id JOIN keyframes k ON k.run_id = s.run_id
            WHERE s.id = $1 GROUP BY v.id
            """);
        command.Parameters.Add(new Npgsql.NpgsqlParameter { Value = row.SourceId });
        await using var reader = await command.ExecuteReaderAsync();
        Assert.True(await reader.ReadAsync(), $"{c.Name}: no video or keyframes rows");
        Assert.Equal((c.Name, c.Display), (c.Name, (reader.GetInt32(0), reader.GetInt32(1))));            // as displayed
        Assert.Equal((c.Name, c.Keyframe, c.Keyframe), (c.Name, (reader.GetInt32(4), reader.GetInt32(6)), (reader.GetInt32(5), reader.GetInt32(7))));
        Assert.Equal(Path.Combine(_corpus, c.Name), reader.GetString(3));                                    // the name as given
        if (c.Name.StartsWith("rotated", StringComparison.Ordinal)) Assert.Equal(90, Math.Abs(reader.GetInt32(2)));

        // The image on disk is the size the row says, upright for the rotated videos.
        var image = Path.Combine(_artifacts, reader.GetString(8));
        Assert.Equal((c.Name, c.Keyframe), (c.Name, await ImageSizeAsync(image)));
    }

    private static void AssertRejected(Case c, SourceProgress row)
    {
        Assert.False(row.Succeeded, $"{c.Name} was expected to be rejected ({c.Reason}) but ingested");
        Assert.Equal((c.Name, "rejected"), (c.Name, row.SourceState));
        Assert.NotNull(row.Error);
        Assert.StartsWith(row.Path + ": ", row.Error, StringComparison.Ordinal);   // names the file
        Assert.Contains(c.Reason!, row.Error, StringComparison.Ordinal);           // and the problem
        Assert.DoesNotContain('\n', row.Error);                                    // in one line
    }

    /// <summary>10 fps then 60 fps: analysed at the average rate over the whole duration, so frames and keyframes
    /// cover all 4 s (one keyframe in each half-second window) and the count matches duration x rate.</summary>
    private async Task AssertVariableFrameRateAsync(SourceProgress row)
    {
        var runId = row.RunId!.Value;
        await using var command = _db.DataSource.CreateCommand("""
            SELECT v.frame_rate, v.duration_s, v.frame_count, (SELECT count(*) FROM frame_scores f WHERE f.run_id = $1)
            FROM runs r JOIN videos v ON v.id = r.video_id WHERE r.id = $1
            """);
        command.Parameters.Add(new Npgsql.NpgsqlParameter { Value = runId });
        await using var reader = await command.ExecuteReaderAsync();
        Assert.True(await reader.ReadAsync());
        var (rate, duration, frameCount, analysed) = (reader.GetDouble(0), reader.GetDouble(1), reader.GetInt64(2), reader.GetInt64(3));
        output.WriteLine($"vfr: rate {rate:0.###}, duration {duration:0.###} s, {frameCount} frames stored, {analysed} analysed");
        Assert.Equal(140, frameCount);                                   // 20 at 10 fps + 120 at 60 fps
        Assert.Equal(4.0, duration, 2);
        Assert.InRange(rate, 140 / 4.0 * 0.9, 140 / 4.0 * 1.1);           // the average, not 10 or 60
        Assert.InRange(analysed, (long)Math.Floor(duration * rate) - 1, (long)Math.Ceiling(duration * rate) + 1);
        var windows = await ListAsync($"SELECT floor(time_s / 0.5)::int FROM keyframes WHERE run_id = {runId} ORDER BY frame_index");
        Assert.Equal(Enumerable.Range(0, 8), windows);
    }

    private async Task AssertManyFramesAsync(SourceProgress row)
    {
        var runId = row.RunId!.Value;
        Assert.Equal(3000, await _db.CountAsync("SELECT count(*) FROM frame_scores WHERE run_id = $1", runId));
        Assert.Equal(3000, await _db.CountAsync("SELECT frame_count FROM runs r JOIN videos v ON v.id = r.video_id WHERE r.id = $1", runId));
        Assert.Equal(2999, await _db.CountAsync("SELECT max(frame_index) FROM frame_scores WHERE run_id = $1", runId));
        var windows = await ListAsync($"SELECT floor(time_s / 0.5)::int FROM keyframes WHERE run_id = {runId} ORDER BY frame_index");
        Assert.Equal(Enumerable.Range(0, 60), windows);
    }

    private async Task<List<int>> ListAsync(string sql)
    {
        await using var command = _db.DataSource.CreateCommand(sql);
        await using var reader = await command.ExecuteReaderAsync();
        var values = new List<int>();
        while (await reader.ReadAsync()) values.Add(reader.GetInt32(0));
        return values;
    }

    private static async Task<(int W, int H)> ImageSizeAsync(string path)
    {
        var info = new ProcessStartInfo("ffprobe") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in new[] { "-v", "error", "-show_entries", "stream=width,height", "-of", "csv=p=0", "--", path }) info.ArgumentList.Add(a);
        using var process = Process.Start(info)!;
        var text = await process.StandardOutput.ReadToEndAsync();
        await process.WaitForExitAsync();
        var parts = text.Trim().Split(',');
        return (int.Parse(parts[0], CultureInfo.InvariantCulture), int.Parse(parts[1], CultureInfo.InvariantCulture));
    }

    private static bool CanOpen(string path)
    {
        try
        {
            using var _ = File.OpenRead(path);
            return true;
        }
        catch (UnauthorizedAccessException)
        {
            return false;
        }
    }

    private static string Squeeze(string text) => string.Concat(text.Where(c => !char.IsWhiteSpace(c)));

    private Task WaitForServersAsync(int count) => ConcertoProcess.WaitForServersAsync(_db, count);

    /// <summary>Waits until every Hangfire job of the batch (continuations of rejected sources included) has ended.</summary>
    private async Task WaitForJobsToEndAsync()
    {
        var deadline = DateTime.UtcNow.AddSeconds(60);
        const string open = "SELECT count(*) FROM hangfire.job WHERE statename IS NULL OR statename NOT IN ('Succeeded', 'Failed', 'Deleted')";
        while (await _db.CountAsync(open) > 0)
        {
            Assert.True(DateTime.UtcNow < deadline, $"{await _db.CountAsync(open)} jobs still open after 60 s");
            await Task.Delay(200);
        }
    }

    [GeneratedRegex(@"Batch (\d+):")]
    private static partial Regex BatchLine();
}

/// <summary>The corpus scenario runs alone, after the assembly's other classes: two workers and 8K encodes on a 2-core
/// machine would otherwise slow the other process tests past their waits (and be slowed by them).</summary>
[CollectionDefinition(nameof(BadInputCorpusTests), DisableParallelization = true)]
public sealed class BadInputCorpusCollection;
