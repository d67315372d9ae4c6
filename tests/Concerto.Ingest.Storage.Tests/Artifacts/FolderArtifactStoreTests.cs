using Concerto.Ingest.Storage.Artifacts;

namespace Concerto.Ingest.Storage.Tests.Artifacts;

public sealed class FolderArtifactStoreTests : IDisposable
{
    private static readonly CancellationToken None = CancellationToken.None;
    private readonly TempFolder _folder = new("concerto-artifacts-");
    private readonly FolderArtifactStore _store;

    public FolderArtifactStoreTests() => _store = new FolderArtifactStore(Path.Combine(_folder.Path, "store"));

    public void Dispose() => _folder.Dispose();

    private async Task<string> PublishAsync(string staging, string prefix)
    {
        var key = ArtifactKeys.NewUnique(prefix);
        await _store.PublishAsync(staging, key, None);
        return key;
    }

    [Fact]
    public async Task PublishAsync_MovesStagingFolderWithFilesToTheKey_WhenStagingHasFiles()
    {
        var staging = _store.CreateStaging();
        Assert.StartsWith(_store.Root + Path.DirectorySeparatorChar, staging, StringComparison.Ordinal);
        File.WriteAllText(Path.Combine(staging, "metrics.json"), "{\"frames\":3}");
        Directory.CreateDirectory(Path.Combine(staging, "keyframes"));
        File.WriteAllBytes(Path.Combine(staging, "keyframes", "000001.jpg"), [0xFF, 0xD8, 0xFF, 0xD9]);

        var key = await PublishAsync(staging, "runs/42/decode");

        Assert.StartsWith("runs/42/decode/", key, StringComparison.Ordinal);
        Assert.DoesNotContain('/', key["runs/42/decode/".Length..]);
        Assert.False(Directory.Exists(staging));
        var published = await _store.LocalPathAsync(key, None);
        Assert.Equal(Path.Combine(_store.Root, "runs", "42", "decode", Path.GetFileName(published)), published);
        Assert.Equal("{\"frames\":3}", File.ReadAllText(Path.Combine(published, "metrics.json")));
        Assert.Equal([0xFF, 0xD8, 0xFF, 0xD9], File.ReadAllBytes(await _store.LocalPathAsync(key + "/keyframes/000001.jpg", None)));
        Assert.Equal([key], await _store.ListAsync("runs/42/decode", None));
        Assert.Equal(new Uri(published), _store.UriOf(key));
    }

    [Theory]
    [InlineData("../x")]
    [InlineData("/etc/passwd")]
    [InlineData("a/../../b")]
    [InlineData("a/b/../c")]
    [InlineData("..")]
    [InlineData(".")]
    [InlineData("a//b")]
    [InlineData("a\\..\\b")]
    [InlineData("a/\u0000/b")]
    [InlineData("../store-sibling/x")]
    public async Task EveryOperation_RefusesTheKey_WhenItCouldLeaveTheRootOrIsMalformed(string key)
    {
        var e = Assert.Throws<InvalidArtifactKeyException>(() => _store.Resolve(key));
        Assert.Contains(key, e.Message, StringComparison.Ordinal);
        await Assert.ThrowsAsync<InvalidArtifactKeyException>(() => _store.LocalPathAsync(key, None));
        await Assert.ThrowsAsync<InvalidArtifactKeyException>(() => _store.DeleteAsync(key, None));
        await Assert.ThrowsAsync<InvalidArtifactKeyException>(() => _store.PublishAsync(_store.CreateStaging(), key, None));
        Assert.True(Directory.Exists(_store.Root));
    }

    [Fact]
    public async Task LocalPathAsync_FindsKeys_WhenRootIsGivenWithTrailingSeparator()
    {
        var store = new FolderArtifactStore(Path.Combine(_folder.Path, "slashed") + Path.DirectorySeparatorChar);
        var key = ArtifactKeys.NewUnique("runs/1/decode");

        await store.PublishAsync(store.CreateStaging(), key, None);

        Assert.True(Directory.Exists(await store.LocalPathAsync(key, None)));
    }
}
