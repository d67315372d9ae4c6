using Concerto.Ingest.Storage.Artifacts;

namespace Concerto.Ingest.Storage.Tests.Artifacts;

public sealed class FolderArtifactStoreTests : IDisposable
{
    private readonly TempFolder _folder = new("concerto-artifacts-");
    private readonly FolderArtifactStore _store;

    public FolderArtifactStoreTests() => _store = new FolderArtifactStore(Path.Combine(_folder.Path, "store"));

    public void Dispose() => _folder.Dispose();

    [Fact]
    public void Publish_MovesStagingFolderWithFilesToNewKeyUnderPrefix_WhenStagingHasFiles()
    {
        var staging = _store.CreateStaging();
        Assert.StartsWith(_store.Root + Path.DirectorySeparatorChar, staging, StringComparison.Ordinal);
        File.WriteAllText(Path.Combine(staging, "metrics.json"), "{\"frames\":3}");
        Directory.CreateDirectory(Path.Combine(staging, "keyframes"));
        File.WriteAllBytes(Path.Combine(staging, "keyframes", "000001.jpg"), [0xFF, 0xD8, 0xFF, 0xD9]);

        var key = _store.Publish(staging, "runs/42/decode");

        Assert.StartsWith("runs/42/decode/", key, StringComparison.Ordinal);
        Assert.DoesNotContain('/', key["runs/42/decode/".Length..]);
        Assert.False(Directory.Exists(staging));
        var published = _store.Resolve(key);
        Assert.Equal(Path.Combine(_store.Root, "runs", "42", "decode", Path.GetFileName(published)), published);
        Assert.Equal("{\"frames\":3}", File.ReadAllText(Path.Combine(published, "metrics.json")));
        Assert.Equal([0xFF, 0xD8, 0xFF, 0xD9], File.ReadAllBytes(Path.Combine(published, "keyframes", "000001.jpg")));
    }

    [Fact]
    public void Publish_GivesDifferentKeys_WhenSamePrefixIsPublishedTwice()
    {
        var first = _store.Publish(_store.CreateStaging(), "runs/7/decode");
        var second = _store.Publish(_store.CreateStaging(), "runs/7/decode/");

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
    public void Resolve_Throws_WhenKeyLeavesTheRoot(string key)
    {
        var e = Assert.Throws<ArgumentException>(() => _store.Resolve(key));
        Assert.Contains(key, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Resolve_ReturnsPathInsideRoot_WhenKeyStaysInside()
    {
        Assert.Equal(Path.Combine(_store.Root, "a", "c"), _store.Resolve("a/b/../c"));
    }

    [Fact]
    public void Publish_ThrowsAndKeepsStaging_WhenPrefixLeavesTheRoot()
    {
        var staging = _store.CreateStaging();

        Assert.Throws<ArgumentException>(() => _store.Publish(staging, "../outside"));

        Assert.True(Directory.Exists(staging));
        Assert.False(Directory.Exists(Path.Combine(_folder.Path, "outside")));
    }

    [Fact]
    public void Delete_RemovesPublishedFolder_WhenKeyExists()
    {
        var staging = _store.CreateStaging();
        File.WriteAllText(Path.Combine(staging, "a.txt"), "a");
        var key = _store.Publish(staging, "runs/1/decode");
        var other = _store.Publish(_store.CreateStaging(), "runs/1/decode");

        _store.Delete(key);

        Assert.False(Directory.Exists(_store.Resolve(key)));
        Assert.True(Directory.Exists(_store.Resolve(other)));
        _store.Delete(key); // already gone: nothing to do, no error
        Assert.Throws<ArgumentException>(() => _store.Delete("../store"));
        Assert.True(Directory.Exists(_store.Root));
    }

    [Fact]
    public void DiscardStaging_RemovesStagingFolder_WhenItHasFiles()
    {
        var staging = _store.CreateStaging();
        File.WriteAllText(Path.Combine(staging, "partial.bin"), "half");

        FolderArtifactStore.DiscardStaging(staging);

        Assert.False(Directory.Exists(staging));
    }

    // Concerto:ArtifactRoot = "/mnt/shared/" reaches this constructor with its trailing '/'.
    [Fact]
    public void Resolve_AcceptsKeys_WhenRootIsGivenWithTrailingSeparator()
    {
        var store = new FolderArtifactStore(Path.Combine(_folder.Path, "slashed") + Path.DirectorySeparatorChar);

        var key = store.Publish(store.CreateStaging(), "runs/1/decode");

        Assert.True(Directory.Exists(store.Resolve(key)));
    }
}
