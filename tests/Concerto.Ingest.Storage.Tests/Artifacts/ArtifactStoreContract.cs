using System.Diagnostics;
using System.Security.Cryptography;
using Concerto.Ingest.Storage.Artifacts;
using Concerto.Ingest.TestSupport;

namespace Concerto.Ingest.Storage.Tests.Artifacts;

/// <summary>What every <see cref="IArtifactStore"/> guarantees, run against each store by a subclass.</summary>
public abstract class ArtifactStoreContract : IDisposable
{
    private readonly TempFolder _scratch = new("concerto-contract-");
    private readonly List<IArtifactStore> _stores = [];
    private IArtifactStore? _store;

    /// <summary>A folder of the test's own (deleted on dispose).</summary>
    protected string Scratch => _scratch.Path;

    /// <summary>The store under test.</summary>
    protected IArtifactStore Store => _store ??= Track(CreateStore("main"));

    /// <summary>A new store over the same artifacts; <paramref name="name"/> tells instances with their own local state
    /// (a cache folder) apart.</summary>
    protected abstract IArtifactStore CreateStore(string name);

    protected IArtifactStore OtherStore(string name) => Track(CreateStore(name));

    /// <summary>Publishes under a fresh key below <paramref name="prefix"/>, as stages do; returns the key.</summary>
    internal static async Task<string> PublishNewAsync(IArtifactStore store, string staging, string prefix)
    {
        var key = ArtifactKeys.NewUnique(prefix);
        await store.PublishAsync(staging, key, CancellationToken.None);
        return key;
    }

    public void Dispose()
    {
        foreach (var store in _stores) (store as IDisposable)?.Dispose();
        _scratch.Dispose();
        GC.SuppressFinalize(this);
    }

    [Fact]
    public async Task PublishAsync_ReturnsNewKeyDirectlyBelowPrefixAndConsumesStaging_WhenStagingHasFiles()
    {
        var staging = Store.CreateStaging();
        ArtifactSamples.Write(staging);

        var key = await PublishNewAsync(Store, staging, "runs/42/decode");

        Assert.StartsWith("runs/42/decode/", key, StringComparison.Ordinal);
        Assert.DoesNotContain('/', key["runs/42/decode/".Length..]);
        Assert.Equal(key, ArtifactKeys.Validate(key));
        Assert.False(Directory.Exists(staging));
    }

    [Fact]
    public async Task PublishAsync_GivesDifferentKeys_WhenSamePrefixIsPublishedTwice()
    {
        var first = await PublishNewAsync(Store, Store.CreateStaging(), "runs/7/decode");
        var second = await PublishNewAsync(Store, Store.CreateStaging(), "runs/7/decode/");

        Assert.NotEqual(first, second);
        Assert.StartsWith("runs/7/decode/", second, StringComparison.Ordinal);
        Assert.DoesNotContain("//", second, StringComparison.Ordinal);
        Assert.Equal(new[] { first, second }.Order(StringComparer.Ordinal), await Store.ListAsync("runs/7/decode", CancellationToken.None));
    }

    [Fact]
    public async Task LocalPathAsync_ReturnsFolderWithTheStagedContent_WhenKeyIsAPublishedFolder()
    {
        var staging = Store.CreateStaging();
        ArtifactSamples.Write(staging);
        var expected = ArtifactSamples.Snapshot(staging);

        var key = await PublishNewAsync(Store, staging, "runs/1/decode");
        var folder = await Store.LocalPathAsync(key, CancellationToken.None);

        Assert.Equal(expected, ArtifactSamples.Snapshot(folder));
        Assert.Equal(folder, await Store.LocalPathAsync(key, CancellationToken.None));
    }

    [Fact]
    public async Task LocalPathAsync_ReturnsFileWithTheStagedBytes_WhenKeyIsAFileInsideAPublishedFolder()
    {
        var staging = Store.CreateStaging();
        ArtifactSamples.Write(staging);
        var expected = File.ReadAllBytes(Path.Combine(staging, "keyframes", "000002.jpg"));
        var key = await PublishNewAsync(Store, staging, "runs/3/decode");

        var file = await Store.LocalPathAsync($"{key}/keyframes/000002.jpg", CancellationToken.None);

        Assert.Equal(expected, File.ReadAllBytes(file));
        Assert.Equal("000002.jpg", Path.GetFileName(file));
        // a folder inside a published folder is a key too
        var keyframes = await Store.LocalPathAsync($"{key}/keyframes", CancellationToken.None);
        Assert.Equal(expected, File.ReadAllBytes(Path.Combine(keyframes, "000002.jpg")));
    }

    [Fact]
    public async Task LocalPathAsync_GivesTheSameContent_WhenAnotherStoreInstanceReadsTheKey()
    {
        var staging = Store.CreateStaging();
        ArtifactSamples.Write(staging);
        var expected = ArtifactSamples.Snapshot(staging);
        var key = await PublishNewAsync(Store, staging, "runs/4/decode");
        var other = OtherStore("other");

        Assert.Equal(expected, ArtifactSamples.Snapshot(await other.LocalPathAsync(key, CancellationToken.None)));
        Assert.Equal(expected["metrics.json"], ArtifactSamples.Hash(await other.LocalPathAsync($"{key}/metrics.json", CancellationToken.None)));
        Assert.Equal([key], await other.ListAsync("runs/4/decode", CancellationToken.None));
    }

    [Fact]
    public async Task LocalPathAsync_ThrowsArtifactNotFound_WhenKeyWasNeverPublished()
    {
        var key = await PublishNewAsync(Store, Store.CreateStaging(), "runs/5/decode");

        var missing = await Assert.ThrowsAsync<ArtifactNotFoundException>(() => Store.LocalPathAsync("runs/5/decode/20260101T000000-00000000", CancellationToken.None));
        Assert.Equal("runs/5/decode/20260101T000000-00000000", missing.Key);
        Assert.Contains(Store.Location, missing.Message, StringComparison.Ordinal);
        await Assert.ThrowsAsync<ArtifactNotFoundException>(() => Store.LocalPathAsync($"{key}/missing.jpg", CancellationToken.None));
    }

    [Fact]
    public async Task DeleteAsync_RemovesOnlyThatKey_AndDoesNothingTheSecondTime()
    {
        var staging = Store.CreateStaging();
        ArtifactSamples.Write(staging);
        var key = await PublishNewAsync(Store, staging, "runs/6/decode");
        var kept = Store.CreateStaging();
        File.WriteAllText(Path.Combine(kept, "a.txt"), "a");
        var other = await PublishNewAsync(Store, kept, "runs/6/decode");
        await Store.LocalPathAsync(key, CancellationToken.None);

        await Store.DeleteAsync(key, CancellationToken.None);

        await Assert.ThrowsAsync<ArtifactNotFoundException>(() => Store.LocalPathAsync(key, CancellationToken.None));
        await Assert.ThrowsAsync<ArtifactNotFoundException>(() => OtherStore("after-delete").LocalPathAsync(key, CancellationToken.None));
        Assert.Equal([other], await Store.ListAsync("runs/6/decode", CancellationToken.None));
        Assert.Equal("a", File.ReadAllText(Path.Combine(await Store.LocalPathAsync(other, CancellationToken.None), "a.txt")));
        await Store.DeleteAsync(key, CancellationToken.None); // gone already: no error
    }

    [Fact]
    public async Task ListAsync_ReturnsPublishedKeysDirectlyBelowPrefixInOrdinalOrder_WhenSeveralArePublished()
    {
        var keys = new List<string>();
        for (var i = 0; i < 3; i++) keys.Add(await PublishNewAsync(Store, Store.CreateStaging(), "runs/8/decode"));
        var elsewhere = await PublishNewAsync(Store, Store.CreateStaging(), "runs/8/segment");

        Assert.Equal(keys.Order(StringComparer.Ordinal), await Store.ListAsync("runs/8/decode", CancellationToken.None));
        Assert.Equal(keys.Order(StringComparer.Ordinal), await Store.ListAsync("runs/8/decode/", CancellationToken.None));
        Assert.Equal([elsewhere], await Store.ListAsync("runs/8/segment", CancellationToken.None));
        Assert.Empty(await Store.ListAsync("runs/9/decode", CancellationToken.None));
    }

    [Theory]
    [InlineData("../x")]
    [InlineData("/abs")]
    [InlineData("a//b")]
    [InlineData("a/./b")]
    [InlineData("a/../../b")]
    [InlineData("a\\b")]
    public async Task Store_RefusesKey_WhenKeyIsInvalid(string key)
    {
        var e = await Assert.ThrowsAsync<InvalidArtifactKeyException>(() => Store.LocalPathAsync(key, CancellationToken.None));
        Assert.Equal(key, e.Key);
        await Assert.ThrowsAsync<InvalidArtifactKeyException>(() => Store.DeleteAsync(key, CancellationToken.None));
        await Assert.ThrowsAsync<InvalidArtifactKeyException>(() => Store.ListAsync(key, CancellationToken.None));
        Assert.Throws<InvalidArtifactKeyException>(() => Store.UriOf(key));

        var staging = Store.CreateStaging();
        File.WriteAllText(Path.Combine(staging, "kept.txt"), "kept");
        await Assert.ThrowsAsync<InvalidArtifactKeyException>(() => Store.PublishAsync(staging, key, CancellationToken.None));
        Assert.Equal("kept", File.ReadAllText(Path.Combine(staging, "kept.txt")));
    }

    [Fact]
    public async Task PublishAsync_Throws_WhenStagingFolderIsMissing()
    {
        var staging = Store.CreateStaging();
        Directory.Delete(staging);

        await Assert.ThrowsAsync<DirectoryNotFoundException>(() => PublishNewAsync(Store, staging, "runs/10/decode"));

        Assert.Empty(await Store.ListAsync("runs/10/decode", CancellationToken.None));
    }

    [Fact]
    public void CreateStaging_GivesDistinctEmptyFolders()
    {
        var first = Store.CreateStaging();
        var second = Store.CreateStaging();

        Assert.NotEqual(first, second);
        Assert.Empty(Directory.EnumerateFileSystemEntries(first));
        Assert.Empty(Directory.EnumerateFileSystemEntries(second));
    }

    [Fact]
    public void SweepStaging_RemovesFoldersOfDeadProcessesAndKeepsOwn_WhenBothExist()
    {
        var own = Store.CreateStaging();
        File.WriteAllText(Path.Combine(own, "busy.bin"), "busy");
        var parts = Path.GetFileName(own).Split('~');
        var abandoned = Path.Combine(Path.GetDirectoryName(own)!, $"{parts[0]}~{DeadProcessId()}~{Guid.NewGuid():N}");
        Directory.CreateDirectory(abandoned);
        File.WriteAllText(Path.Combine(abandoned, "half.bin"), "half");

        Assert.Equal(1, Store.SweepStaging());

        Assert.False(Directory.Exists(abandoned));
        Assert.True(File.Exists(Path.Combine(own, "busy.bin")));
    }

    private IArtifactStore Track(IArtifactStore store)
    {
        _stores.Add(store);
        return store;
    }

    private static int DeadProcessId()
    {
        using var process = Process.Start(new ProcessStartInfo("true") { UseShellExecute = false })!;
        process.WaitForExit();
        return process.Id;
    }
}

/// <summary>Sample stage outputs and a way to compare folders.</summary>
internal static class ArtifactSamples
{
    /// <summary>A stage's typical output: nested folders, binary files, an empty file, a dot file, an empty folder.</summary>
    public static void Write(string staging, int keyframes = 3)
    {
        File.WriteAllText(Path.Combine(staging, "metrics.json"), "{\"frames\":3}");
        File.WriteAllBytes(Path.Combine(staging, "empty.bin"), []);
        File.WriteAllText(Path.Combine(staging, ".hidden"), "dot file");
        Directory.CreateDirectory(Path.Combine(staging, "keyframes"));
        for (var i = 1; i <= keyframes; i++)
        {
            var bytes = new byte[20_000 * i];
            new Random(i).NextBytes(bytes);
            File.WriteAllBytes(Path.Combine(staging, "keyframes", $"{i:000000}.jpg"), bytes);
        }

        Directory.CreateDirectory(Path.Combine(staging, "depth", "empty"));
    }

    /// <summary>Every file (relative path → SHA-256) and every empty folder (relative path → "dir") below a folder.</summary>
    public static SortedDictionary<string, string> Snapshot(string folder)
    {
        var all = new EnumerationOptions { RecurseSubdirectories = true, AttributesToSkip = 0 };
        var snapshot = new SortedDictionary<string, string>(StringComparer.Ordinal);
        foreach (var file in Directory.EnumerateFiles(folder, "*", all)) snapshot[Path.GetRelativePath(folder, file)] = Hash(file);
        foreach (var dir in Directory.EnumerateDirectories(folder, "*", all).Where(d => !Directory.EnumerateFileSystemEntries(d).Any()))
            snapshot[Path.GetRelativePath(folder, dir)] = "dir";
        return snapshot;
    }

    public static string Hash(string file) => Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(file)));
}

public sealed class FolderArtifactStoreContractTests : ArtifactStoreContract
{
    protected override IArtifactStore CreateStore(string name) => new FolderArtifactStore(Path.Combine(Scratch, "store"));
}

[Collection(MotoCollection.Name)]
public sealed class S3ArtifactStoreContractTests(MotoServer moto) : ArtifactStoreContract
{
    private readonly string _bucket = MotoServer.NewBucketName();

    protected override IArtifactStore CreateStore(string name) => new S3ArtifactStore(moto.Options(_bucket, Path.Combine(Scratch, "cache-" + name)));
}
