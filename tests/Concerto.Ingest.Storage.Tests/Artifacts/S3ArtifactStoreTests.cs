using System.Security.Cryptography;
using System.Text.Json;
using Amazon.S3;
using Amazon.S3.Model;
using Concerto.Ingest.Storage.Artifacts;
using Concerto.Ingest.TestSupport;

namespace Concerto.Ingest.Storage.Tests.Artifacts;

/// <summary>What the S3 store guarantees beyond the contract: the commit marker, atomic publication and fetching,
/// crash leftovers, integrity checks. Against a real moto S3 server.</summary>
[Collection(MotoCollection.Name)]
public sealed class S3ArtifactStoreTests : IDisposable
{
    private const string BucketPrefix = "concerto/test";
    private readonly MotoServer _moto;
    private readonly TempFolder _scratch = new("concerto-s3-");
    private readonly string _bucket = MotoServer.NewBucketName();
    private readonly AmazonS3Client _client;
    private readonly S3ArtifactStore _store;
    private readonly List<S3ArtifactStore> _others = [];

    public S3ArtifactStoreTests(MotoServer moto)
    {
        _moto = moto;
        _client = moto.CreateClient();
        _store = NewStore("main");
    }

    public void Dispose()
    {
        _store.Dispose();
        foreach (var store in _others) store.Dispose();
        _client.Dispose();
        _scratch.Dispose();
    }

    [Fact]
    public async Task PublishAsync_WritesEveryFileAndAManifestMarker_UnderTheBucketPrefix()
    {
        var staging = _store.CreateStaging();
        File.WriteAllText(Path.Combine(staging, "metrics.json"), "{\"frames\":3}");
        Directory.CreateDirectory(Path.Combine(staging, "keyframes"));
        File.WriteAllBytes(Path.Combine(staging, "keyframes", "000001.jpg"), [0xFF, 0xD8, 0xFF, 0xD9]);

        var key = await ArtifactStoreContract.PublishNewAsync(_store, staging, "runs/42/decode");

        Assert.Equal(
            [$"{BucketPrefix}/{key}/.published", $"{BucketPrefix}/{key}/keyframes/000001.jpg", $"{BucketPrefix}/{key}/metrics.json"],
            await ObjectKeysAsync(BucketPrefix + "/"));
        using var marker = await _client.GetObjectAsync(_bucket, $"{BucketPrefix}/{key}/.published");
        using var manifest = await JsonDocument.ParseAsync(marker.ResponseStream);
        var files = manifest.RootElement.GetProperty("files").EnumerateArray()
            .Select(f => (f.GetProperty("path").GetString(), f.GetProperty("size").GetInt64(), f.GetProperty("sha256").GetString())).ToList();
        Assert.Equal(
            [
                ("keyframes/000001.jpg", 4L, Sha256([0xFF, 0xD8, 0xFF, 0xD9])),
                ("metrics.json", 12L, Sha256("{\"frames\":3}"u8.ToArray())),
            ],
            files);
        Assert.Equal(key, manifest.RootElement.GetProperty("key").GetString());
        Assert.Equal(new Uri($"s3://{_bucket}/{BucketPrefix}/{key}"), _store.UriOf(key));
        Assert.Equal($"s3://{_bucket}/{BucketPrefix}", _store.Location);
    }

    [Fact]
    public async Task PublishAsync_LeavesNothingPublishedAndKeepsStaging_WhenAStagingFileCannotBeReadMidway()
    {
        var staging = _store.CreateStaging();
        for (var i = 0; i < 24; i++) File.WriteAllText(Path.Combine(staging, $"a{i:000}.txt"), $"file {i}");
        // A file whose target vanished: listed with the others, but opening it fails once the upload reaches it.
        File.CreateSymbolicLink(Path.Combine(staging, "zzz-broken.jpg"), Path.Combine(_scratch.Path, "gone.jpg"));

        var e = await Assert.ThrowsAsync<IOException>(() => ArtifactStoreContract.PublishNewAsync(_store, staging, "runs/9/decode"));

        Assert.Contains(_store.Location, e.Message, StringComparison.Ordinal);
        Assert.Contains("'runs/9/decode/", e.Message, StringComparison.Ordinal);
        Assert.IsType<FileNotFoundException>(e.InnerException);
        Assert.Empty(await _store.ListAsync("runs/9/decode", CancellationToken.None));
        Assert.Empty(await ObjectKeysAsync($"{BucketPrefix}/runs/9/"));
        Assert.Equal(25, Directory.GetFileSystemEntries(staging).Length);
    }

    [Fact]
    public async Task UnmarkedUpload_IsNeitherListedNorReadable_WhenThePublisherDiedBeforeItsMarker()
    {
        var published = await PublishSampleAsync("runs/5/decode");
        const string Crashed = "runs/5/decode/20261203T101010-abcd1234";
        await PutAsync($"{Crashed}/metrics.json", "{}");
        await PutAsync($"{Crashed}/keyframes/000012.jpg", "jpeg");

        Assert.Equal([published], await _store.ListAsync("runs/5/decode", CancellationToken.None));
        await Assert.ThrowsAsync<ArtifactNotFoundException>(() => _store.LocalPathAsync(Crashed, CancellationToken.None));
        await Assert.ThrowsAsync<ArtifactNotFoundException>(() => _store.LocalPathAsync($"{Crashed}/keyframes/000012.jpg", CancellationToken.None));
        await Assert.ThrowsAsync<ArtifactNotFoundException>(() => _store.LocalPathAsync($"{Crashed}/keyframes", CancellationToken.None));
    }

    [Fact]
    public async Task SweepUnpublishedAsync_RemovesUnmarkedUploadsOnlyOnceOlderThanTheGracePeriod()
    {
        var published = await PublishSampleAsync("runs/5/decode");
        const string Crashed = "runs/5/decode/20261203T101010-abcd1234";
        await PutAsync($"{Crashed}/metrics.json", "{}");
        await PutAsync($"{Crashed}/keyframes/000012.jpg", "jpeg");
        await PutAsync("runs/5/decode/stray.bin", "stray");
        await PutAsync("runs/6/decode/20261203T101010-00000000/a.txt", "other prefix");
        var before = await ObjectKeysAsync(BucketPrefix + "/");

        Assert.Equal(0, await _store.SweepUnpublishedAsync("runs/5/decode", TimeSpan.FromHours(1), CancellationToken.None));
        Assert.Equal(before, await ObjectKeysAsync(BucketPrefix + "/"));

        await Task.Delay(TimeSpan.FromSeconds(1.2)); // S3 object times are whole seconds
        Assert.Equal(2, await _store.SweepUnpublishedAsync("runs/5/decode", TimeSpan.FromMilliseconds(100), CancellationToken.None));

        var after = await ObjectKeysAsync(BucketPrefix + "/");
        Assert.DoesNotContain(after, k => k.Contains(Crashed, StringComparison.Ordinal) || k.EndsWith("stray.bin", StringComparison.Ordinal));
        Assert.Contains($"{BucketPrefix}/runs/6/decode/20261203T101010-00000000/a.txt", after);
        Assert.Equal(before.Count(k => k.Contains(published, StringComparison.Ordinal)), after.Count(k => k.Contains(published, StringComparison.Ordinal)));
        var fresh = NewStore("fresh");
        Assert.True(File.Exists(Path.Combine(await fresh.LocalPathAsync(published, CancellationToken.None), "metrics.json")));
        Assert.Equal(0, await _store.SweepUnpublishedAsync($"{published}/keyframes", TimeSpan.Zero, CancellationToken.None));
    }

    [Fact]
    public async Task LocalPathAsync_GivesCompleteCopies_WhenTwoStoresWithSeparateCachesFetchConcurrently()
    {
        var (key, expected) = await PublishSampleWithSnapshotAsync("runs/11/decode", keyframes: 12);
        var first = NewStore("first");
        var second = NewStore("second");

        var paths = await Task.WhenAll(
            first.LocalPathAsync(key, CancellationToken.None), second.LocalPathAsync(key, CancellationToken.None),
            first.LocalPathAsync(key, CancellationToken.None), second.LocalPathAsync(key, CancellationToken.None),
            second.LocalPathAsync($"{key}/keyframes/000007.jpg", CancellationToken.None));

        Assert.Equal(paths[0], paths[2]);
        Assert.Equal(paths[1], paths[3]);
        Assert.NotEqual(paths[0], paths[1]);
        Assert.Equal(expected, ArtifactSamples.Snapshot(paths[0]));
        Assert.Equal(expected, ArtifactSamples.Snapshot(paths[1]));
        Assert.Equal(expected[Path.Combine("keyframes", "000007.jpg")], Sha256(File.ReadAllBytes(paths[4])));
        Assert.Empty(Directory.EnumerateFileSystemEntries(Path.Combine(first.CacheDirectory, ".staging")));
        Assert.Empty(Directory.EnumerateFileSystemEntries(Path.Combine(second.CacheDirectory, ".staging")));
    }

    [Fact]
    public async Task LocalPathAsync_GivesOneCompleteCopy_WhenStoresSharingACacheFetchConcurrently()
    {
        var (key, expected) = await PublishSampleWithSnapshotAsync("runs/12/decode", keyframes: 12);
        var shared = Path.Combine(_scratch.Path, "shared-cache");
        var stores = Enumerable.Range(0, 4).Select(_ => Track(new S3ArtifactStore(_moto.Options(_bucket, shared, BucketPrefix)))).ToList();

        var paths = await Task.WhenAll(stores.Select(s => s.LocalPathAsync(key, CancellationToken.None)));

        Assert.Single(paths.Distinct());
        Assert.Equal(expected, ArtifactSamples.Snapshot(paths[0]));
        Assert.Single(Directory.EnumerateDirectories(Path.Combine(shared, "objects")));
        Assert.Empty(Directory.EnumerateFileSystemEntries(Path.Combine(shared, ".staging")));
    }

    [Fact]
    public async Task LocalPathAsync_ServesTheCachedCopy_WhenTheKeyWasFetchedBefore()
    {
        var (key, expected) = await PublishSampleWithSnapshotAsync("runs/13/decode");
        var folder = await _store.LocalPathAsync(key, CancellationToken.None);
        var single = NewStore("single");
        var file = await single.LocalPathAsync($"{key}/metrics.json", CancellationToken.None);

        // Behind the stores' backs: the bucket no longer has the objects. Published keys never change, so the copies hold.
        await DeleteObjectsAsync(await ObjectKeysAsync(BucketPrefix + "/"));

        Assert.Equal(folder, await _store.LocalPathAsync(key, CancellationToken.None));
        Assert.Equal(expected, ArtifactSamples.Snapshot(folder));
        Assert.Equal(Path.Combine(folder, "keyframes", "000001.jpg"), await _store.LocalPathAsync($"{key}/keyframes/000001.jpg", CancellationToken.None));
        Assert.Equal(file, await single.LocalPathAsync($"{key}/metrics.json", CancellationToken.None));
        Assert.Equal(expected["metrics.json"], Sha256(File.ReadAllBytes(file)));
    }

    [Fact]
    public async Task LocalPathAsync_ThrowsInvalidDataAndCachesNothing_WhenAnObjectWasChangedInTheBucket()
    {
        var key = await PublishSampleAsync("runs/14/decode");
        await PutAsync($"{key}/keyframes/000002.jpg", "not the published bytes");

        var e = await Assert.ThrowsAsync<InvalidDataException>(() => _store.LocalPathAsync(key, CancellationToken.None));

        Assert.Contains("keyframes/000002.jpg", e.Message, StringComparison.Ordinal);
        Assert.Contains(key, e.Message, StringComparison.Ordinal);
        Assert.Empty(Directory.EnumerateFileSystemEntries(Path.Combine(_store.CacheDirectory, "objects")));
        Assert.Empty(Directory.EnumerateFileSystemEntries(Path.Combine(_store.CacheDirectory, ".staging")));
        await Assert.ThrowsAsync<InvalidDataException>(() => _store.LocalPathAsync($"{key}/keyframes/000002.jpg", CancellationToken.None));
        Assert.True(File.Exists(await _store.LocalPathAsync($"{key}/keyframes/000001.jpg", CancellationToken.None)));
    }

    [Fact]
    public async Task DeleteAsync_RemovesMarkerObjectsAndCachedCopy_WhenKeyIsPublished()
    {
        var key = await PublishSampleAsync("runs/15/decode");
        var folder = await _store.LocalPathAsync(key, CancellationToken.None);
        var file = await NewStore("single").LocalPathAsync($"{key}/metrics.json", CancellationToken.None);

        await _store.DeleteAsync(key, CancellationToken.None);

        Assert.Empty(await ObjectKeysAsync($"{BucketPrefix}/runs/15/"));
        Assert.False(Directory.Exists(folder));
        Assert.True(File.Exists(file)); // another machine's cache: it keeps its copy of an immutable key
    }

    [Fact]
    public async Task DeleteAsync_Refuses_WhenKeyIsAFileInsideAPublishedFolder()
    {
        var key = await PublishSampleAsync("runs/16/decode");

        var e = await Assert.ThrowsAsync<InvalidOperationException>(() => _store.DeleteAsync($"{key}/metrics.json", CancellationToken.None));

        Assert.Contains($"delete '{key}' instead", e.Message, StringComparison.Ordinal);
        Assert.True(File.Exists(await NewStore("after").LocalPathAsync($"{key}/metrics.json", CancellationToken.None)));
    }

    [Fact]
    public async Task DeleteAsync_RemovesAnUnmarkedUpload_WhenKeyWasNeverPublished()
    {
        const string Crashed = "runs/17/decode/20261203T101010-abcd1234";
        await PutAsync($"{Crashed}/a.txt", "a");

        await _store.DeleteAsync(Crashed, CancellationToken.None);

        Assert.Empty(await ObjectKeysAsync($"{BucketPrefix}/runs/17/"));
    }

    [Fact]
    public async Task PublishAsync_RefusesAndKeepsStaging_WhenStagingHasAFileNamedLikeTheMarker()
    {
        var staging = _store.CreateStaging();
        File.WriteAllText(Path.Combine(staging, ".published"), "mine");

        var e = await Assert.ThrowsAsync<ArgumentException>(() => ArtifactStoreContract.PublishNewAsync(_store, staging, "runs/18/decode"));

        Assert.Contains(".published", e.Message, StringComparison.Ordinal);
        Assert.True(File.Exists(Path.Combine(staging, ".published")));
        Assert.Empty(await ObjectKeysAsync($"{BucketPrefix}/runs/18/"));
    }

    [Fact]
    public async Task Store_ThrowsClearError_WhenTheBucketDoesNotExist()
    {
        var options = _moto.Options(MotoServer.NewBucketName(), Path.Combine(_scratch.Path, "no-bucket"));
        options.CreateBucket = false;
        using var store = new S3ArtifactStore(options);

        var e = await Assert.ThrowsAsync<InvalidOperationException>(() => store.ListAsync("runs/1/decode", CancellationToken.None));

        Assert.Contains($"'{options.Bucket}'", e.Message, StringComparison.Ordinal);
        Assert.Contains("create it, or set Concerto:S3:Bucket", e.Message, StringComparison.Ordinal);
        await Assert.ThrowsAsync<InvalidOperationException>(() => ArtifactStoreContract.PublishNewAsync(store, store.CreateStaging(), "runs/1/decode"));
    }

    [Fact]
    public void Constructor_Throws_WhenOnlyOneCredentialIsSet()
    {
        var options = _moto.Options(_bucket, Path.Combine(_scratch.Path, "half-credentials"));
        options.SecretKey = null;

        var e = Assert.Throws<ArgumentException>(() => new S3ArtifactStore(options).Dispose());

        Assert.Contains("Concerto:S3:SecretKey", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void UriOf_NamesBucketAndObjectKey_WhenThereIsNoBucketPrefix()
    {
        using var store = new S3ArtifactStore(_moto.Options(_bucket, Path.Combine(_scratch.Path, "no-prefix"), prefix: null));

        Assert.Equal(new Uri($"s3://{_bucket}/runs/1/decode/20261203T101010-abcd1234"), store.UriOf("runs/1/decode/20261203T101010-abcd1234"));
        Assert.Equal($"s3://{_bucket}", store.Location);
    }

    [Fact]
    public void Create_ReturnsS3StoreWhenABucketIsSet_AndTheFolderStoreOtherwise()
    {
        var storage = new StorageOptions { StateDirectory = Path.Combine(_scratch.Path, "state") };

        var folder = ArtifactStores.Create(storage, null);
        var alsoFolder = ArtifactStores.Create(storage, new S3ArtifactOptions());
        var options = _moto.Options(_bucket, cacheDirectory: "");
        using var s3 = (S3ArtifactStore)ArtifactStores.Create(storage, options);

        Assert.Equal(Path.Combine(storage.StateDirectory, "artifacts"), Assert.IsType<FolderArtifactStore>(folder).Root);
        Assert.IsType<FolderArtifactStore>(alsoFolder);
        Assert.Equal(Path.Combine(storage.StateDirectory, "artifact-cache"), s3.CacheDirectory);
        Assert.Equal("", options.CacheDirectory);
    }

    private S3ArtifactStore NewStore(string name) => Track(new S3ArtifactStore(_moto.Options(_bucket, Path.Combine(_scratch.Path, "cache-" + name), BucketPrefix)));

    private S3ArtifactStore Track(S3ArtifactStore store)
    {
        _others.Add(store);
        return store;
    }

    private async Task<string> PublishSampleAsync(string prefix) => (await PublishSampleWithSnapshotAsync(prefix)).Key;

    private async Task<(string Key, SortedDictionary<string, string> Snapshot)> PublishSampleWithSnapshotAsync(string prefix, int keyframes = 3)
    {
        var staging = _store.CreateStaging();
        ArtifactSamples.Write(staging, keyframes);
        var snapshot = ArtifactSamples.Snapshot(staging);
        return (await ArtifactStoreContract.PublishNewAsync(_store, staging, prefix), snapshot);
    }

    /// <summary>An upload the store did not make (a crashed publisher, or tampering).</summary>
    private async Task PutAsync(string key, string content)
    {
        await _store.EnsureBucketAsync(CancellationToken.None);
        await _client.PutObjectAsync(new PutObjectRequest { BucketName = _bucket, Key = $"{BucketPrefix}/{key}", ContentBody = content });
    }

    private async Task<List<string>> ObjectKeysAsync(string prefix)
    {
        await _store.EnsureBucketAsync(CancellationToken.None);
        var response = await _client.ListObjectsV2Async(new ListObjectsV2Request { BucketName = _bucket, Prefix = prefix });
        return (response.S3Objects ?? []).Select(o => o.Key).Order(StringComparer.Ordinal).ToList();
    }

    private async Task DeleteObjectsAsync(List<string> keys)
    {
        foreach (var key in keys) await _client.DeleteObjectAsync(_bucket, key);
    }

    private static string Sha256(byte[] bytes) => Convert.ToHexStringLower(SHA256.HashData(bytes));

}
