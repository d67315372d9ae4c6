using System.Diagnostics;

namespace Concerto.Ingest.Cli.Tests.Reliability;

/// <summary>The artifact store's disk fills up while decode writes its keyframes: the stage fails cleanly with a reason
/// that says so, nothing is half-published, and Hangfire's retry succeeds once there is space again. The store is a
/// small tmpfs mounted for the test and filled up with a file, so this needs root (CI runs as root).</summary>
public sealed class DiskFullTests
{
    [Fact]
    public async Task Decode_FailsCleanlyAndRetriesToSuccess_WhenTheArtifactDiskIsFullThenFreed()
    {
        Assert.True(Environment.IsPrivilegedProcess, "this scenario mounts a tmpfs, which needs root (as in CI); run the tests as root");
        var mount = Directory.CreateTempSubdirectory("concerto-full-disk-").FullName;
        await RunAsync("mount", "-t", "tmpfs", "-o", "size=8m", "tmpfs", mount);
        try
        {
            var video = await TestSupport.TestVideos.PatternAsync(seconds: 4, width: 1280, height: 720);
            await using var scenario = await Scenario.CreateAsync(mount);
            await scenario.StartWorkerAsync();
            // Fill the disk but for 16 KiB: the staging folder can be made, the keyframes cannot be written.
            var filler = Path.Combine(mount, "filler.bin");
            await using (var fill = File.Create(filler))   // written, not SetLength: a sparse file takes no space
            {
                var chunk = new byte[4096];
                for (var left = new DriveInfo(mount).AvailableFreeSpace - 16 * 1024; left > 0; left -= chunk.Length)
                    await fill.WriteAsync(chunk.AsMemory(0, (int)Math.Min(chunk.Length, left)));
            }

            await scenario.IngestDetachedAsync(video);

            var deadline = DateTime.UtcNow + TimeSpan.FromMinutes(2);
            while (await scenario.Db.CountAsync("SELECT count(*) FROM run_stages WHERE stage = 'decode' AND state = 'retrying'") == 0)
            {
                Assert.True(DateTime.UtcNow < deadline, $"decode never failed for lack of space: {await scenario.StatesAsync()}\n{scenario.WorkerOutput()}");
                await Task.Delay(100);
            }

            var error = await ErrorAsync(scenario);
            Assert.Contains("No space left on device", error, StringComparison.Ordinal);
            Assert.Contains("is full: free space there; the stage is retried", error, StringComparison.Ordinal);
            Assert.Empty(await scenario.StrayArtifactsAsync());
            Assert.Equal(0, await scenario.Db.CountAsync("SELECT count(*) FROM keyframes"));

            File.Delete(filler);   // space returns; Hangfire's retry comes 5 s after the failure
            await scenario.WaitUntilSettledAsync(1, TimeSpan.FromMinutes(2));
            await scenario.StopWorkersAsync();

            Assert.Equal("1:succeeded", await scenario.StatesAsync());
            Assert.Equal(0, await scenario.Db.CountAsync("SELECT count(*) FROM run_stages WHERE state <> 'succeeded' OR error IS NOT NULL"));
            Assert.True(await scenario.Db.CountAsync("SELECT executions FROM run_stages WHERE stage = 'decode'") >= 2);
            Assert.True(await scenario.Db.CountAsync("SELECT count(*) FROM keyframes") > 0);
            Assert.Empty(await scenario.StrayArtifactsAsync());
            foreach (var key in await KeysAsync(scenario)) Assert.True(File.Exists(Path.Combine(mount, key)), key);
        }
        finally
        {
            if (File.Exists("/proc/mounts") && File.ReadAllText("/proc/mounts").Contains(mount, StringComparison.Ordinal)) await RunAsync("umount", mount);
            if (Directory.Exists(mount)) Directory.Delete(mount, recursive: true);
        }
    }

    private static async Task<string> ErrorAsync(Scenario scenario)
    {
        await using var command = scenario.Db.DataSource.CreateCommand("SELECT error FROM run_stages WHERE stage = 'decode'");
        return (await command.ExecuteScalarAsync())?.ToString() ?? "";
    }

    private static async Task<IReadOnlyList<string>> KeysAsync(Scenario scenario)
    {
        var keys = new List<string>();
        await using var command = scenario.Db.DataSource.CreateCommand("SELECT artifact_key FROM keyframes");
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync()) keys.Add(reader.GetString(0));
        return keys;
    }

    private static async Task RunAsync(string program, params string[] args)
    {
        using var process = Process.Start(new ProcessStartInfo(program, args) { RedirectStandardError = true, UseShellExecute = false })!;
        var error = await process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        Assert.True(process.ExitCode == 0, $"{program} {string.Join(' ', args)}: {error}");
    }
}
