using Concerto.Ingest.Storage.Artifacts;

namespace Concerto.Ingest.Storage.Tests.Artifacts;

public sealed class FolderArtifactStoreTests : IDisposable
{
    private readonly TempFolder _folder = new("concerto-artifacts-");
    private readonly FolderArtifactStore _store;

    public FolderArtifactStoreTests() => _store = new FolderArtifactStore(Path.Combine(_folder.Path, "store"));

    public void Dispose() => _folder.Dispose();

    [Fact]
    public async Task PublishAsync_MovesStagingFolderWithFilesToNewKeyUnderPrefix_WhenStagingHasFiles()
    {
        var staging = _store.CreateStaging();
        Assert.StartsWith(_store.Root + Path.DirectorySeparatorChar, staging, StringComparison.Ordinal);
        File.WriteAllText(Path.Combine(staging, "metrics.json"), "{\"frames\":3}");
        Directory.CreateDirectory(Path.Combine(staging, "keyframes"));
        File.WriteAllBytes(Path.Combine(staging, "keyframes", "000001.jpg"), [0xFF, 0xD8, 0xFF, 0xD9]);

        var key = await _store.PublishAsync(staging, "runs/42/decode", CancellationToken.None);

        Assert.StartsWith("runs/42/decode/", key, StringComparison.Ordinal);
        Assert.DoesNotContain('/', key["runs/42/decode/".Length..]);
        Assert.False(Directory.Exists(staging));
        var published = _store.Resolve(key);
        Assert.Equal(Path.Combine(_store.Root, "runs", "42", "decode", Path.GetFileName(published)), published);
        Assert.Equal("{\"frames\":3}", File.ReadAllText(Path.Combine(published, "metrics.json")));
        Assert.Equal([0xFF, 0xD8, 0xFF, 0xD9], File.ReadAllBytes(Path.Combine(published, "keyframes", "000001.jpg")));
    }

    [Fact]
    public async Task PublishAsync_GivesDifferentKeys_WhenSamePrefixIsPublishedTwice()
    {
        var first = await _store.PublishAsync(_store.CreateStaging(), "runs/7/decode", CancellationToken.None);
        var second = await _store.PublishAsync(_store.CreateStaging(), "runs/7/decode/", CancellationToken.None);

        Assert.NotEqual(first, second);
        Assert.StartsWith("runs/7/decode/", second, StringComparison.Ordinal);
        Assert.DoesNotContain("//", second, StringComparison.Ordinal);
        Assert.True(Directory.Exists(_store.Resolve(first)));
        Assert.True(Directory.Exists(_store.Resolve(second)));
    }

    [Theory]
    [InlineData("../x")]
    [InlineData("/etc/passwd")]
    [InlineData("a/../../b")]
    [InlineData("..")]
    [InlineData(".")]
    [InlineData("../store-sibling/x")]
    [InlineData("a/b/../c")]
    public void Resolve_Throws_WhenKeyLeavesTheRoot(string key)
    {
        var e = Assert.Throws<InvalidArtifactKeyException>(() => _store.Resolve(key));
        Assert.Contains(key, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Resolve_ReturnsPathInsideRoot_WhenKeyStaysInside()
    {
        Assert.Equal(Path.Combine(_store.Root, "a", "c"), _store.Resolve("a/c"));
    }

    [Fact]
    public async Task PublishAsync_ThrowsAndKeepsStaging_WhenPrefixLeavesTheRoot()
    {
        var staging = _store.CreateStaging();

        await Assert.ThrowsAsync<InvalidArtifactKeyException>(() => _store.PublishAsync(staging, "../outside", CancellationToken.None));

        Assert.True(Directory.Exists(staging));
        Assert.False(Directory.Exists(Path.Combine(_folder.Path, "outside")));
    }

    [Fact]
    public async Task DeleteAsync_RemovesPublishedFolder_WhenKeyExists()
    {
        var staging = _store.CreateStaging();
        File.WriteAllText(Path.Combine(staging, "a.txt"), "a");
        var key = await _store.PublishAsync(staging, "runs/1/decode", CancellationToken.None);
        var other = await _store.PublishAsync(_store.CreateStaging(), "runs/1/decode", CancellationToken.None);

        await _store.DeleteAsync(key, CancellationToken.None);

        Assert.False(Directory.Exists(_store.Resolve(key)));
        Assert.True(Directory.Exists(_store.Resolve(other)));
        await _store.DeleteAsync(key, CancellationToken.None); // already gone: nothing to do, no error
        await Assert.ThrowsAsync<InvalidArtifactKeyException>(() => _store.DeleteAsync("../store", CancellationToken.None));
        Assert.True(Directory.Exists(_store.Root));
    }

    [Fact]
    public void Discard_RemovesStagingFolder_WhenItHasFiles()
    {
        var staging = _store.CreateStaging();
        File.WriteAllText(Path.Combine(staging, "partial.bin"), "half");

        StagingArea.Discard(staging);

        Assert.False(Directory.Exists(staging));
    }

    // Concerto:ArtifactRoot = "/mnt/shared/" reaches this constructor with its trailing '/'.
    [Fact]
    public async Task Resolve_AcceptsKeys_WhenRootIsGivenWithTrailingSeparator()
    {
        var store = new FolderArtifactStore(Path.Combine(_folder.Path, "slashed") + Path.DirectorySeparatorChar);

        var key = await store.PublishAsync(store.CreateStaging(), "runs/1/decode", CancellationToken.None);

        Assert.True(Directory.Exists(store.Resolve(key)));
    }
}
