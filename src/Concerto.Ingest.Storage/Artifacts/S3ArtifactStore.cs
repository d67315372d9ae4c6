using System.Buffers;
using System.Diagnostics;
using System.Net;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using Amazon;
using Amazon.Runtime;
using Amazon.S3;
using Amazon.S3.Model;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Concerto.Ingest.Storage.Artifacts;

/// <summary>Artifacts in an S3-compatible bucket, for several machines without a shared mount. A published folder key K
/// is the objects K/&lt;relative path&gt; plus, written last, the commit marker K/.published: a JSON manifest listing every
/// file with its size and SHA-256. A key is published exactly when its marker exists, so an upload that dies half way is
/// never visible (<see cref="SweepUnpublishedAsync"/> removes what it left), and a delete removes the marker first.
/// Staging is local (CacheDirectory/.staging); readers get verified local copies (CacheDirectory/objects for folders,
/// CacheDirectory/files for single files), fetched once: published keys never change.</summary>
public sealed partial class S3ArtifactStore : IArtifactStore, IDisposable
{
    /// <summary>The name of the commit marker object inside a published folder key.</summary>
    public const string MarkerName = ".published";

    private const int DeleteBatch = 1000;
    private const int CopyBuffer = 1 << 16;
    private static readonly TimeSpan CleanupTimeout = TimeSpan.FromMinutes(2);

    private readonly AmazonS3Client _client;
    private readonly StagingArea _staging;
    private readonly string _folders;
    private readonly string _files;
    private readonly string _region;
    private readonly bool _createBucket;
    private readonly int _parallelism;
    private readonly ILogger _logger;
    private volatile bool _bucketChecked;

    public S3ArtifactStore(S3ArtifactOptions options, ILogger<S3ArtifactStore>? logger = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (string.IsNullOrWhiteSpace(options.Bucket))
            throw new ArgumentException("the S3 artifact store has no bucket: set Concerto:S3:Bucket", nameof(options));
        if (string.IsNullOrWhiteSpace(options.CacheDirectory))
            throw new ArgumentException("the S3 artifact store has no local cache folder: set Concerto:S3:CacheDirectory", nameof(options));
        if (options.MaxConcurrentTransfers < 1)
            throw new ArgumentException($"Concerto:S3:MaxConcurrentTransfers is {options.MaxConcurrentTransfers}; it must be at least 1", nameof(options));
        if (string.IsNullOrWhiteSpace(options.AccessKey) != string.IsNullOrWhiteSpace(options.SecretKey))
            throw new ArgumentException("set both Concerto:S3:AccessKey and Concerto:S3:SecretKey, or neither (then AWS_ACCESS_KEY_ID and " +
                                        "AWS_SECRET_ACCESS_KEY or another standard AWS credential source are used)", nameof(options));

        Bucket = options.Bucket.Trim();
        var prefix = (options.Prefix ?? "").Trim().Trim('/');
        if (prefix.Length > 0 && !ArtifactKeys.IsValid(prefix))
            throw new ArgumentException($"Concerto:S3:Prefix '{options.Prefix}' is not a valid key prefix (no empty, '.' or '..' segments, no backslashes)", nameof(options));
        BucketPrefix = prefix;
        Location = prefix.Length == 0 ? $"s3://{Bucket}" : $"s3://{Bucket}/{prefix}";
        ServiceUrl = string.IsNullOrWhiteSpace(options.ServiceUrl) ? null : options.ServiceUrl.Trim();
        _region = FirstSet(options.Region, Environment.GetEnvironmentVariable("AWS_REGION"), Environment.GetEnvironmentVariable("AWS_DEFAULT_REGION")) ?? "us-east-1";
        _createBucket = options.CreateBucket;
        _parallelism = options.MaxConcurrentTransfers;
        _logger = (ILogger?)logger ?? NullLogger.Instance;

        CacheDirectory = Path.TrimEndingDirectorySeparator(Path.GetFullPath(options.CacheDirectory));
        _staging = new StagingArea(Path.Combine(CacheDirectory, ".staging"));
        _folders = Directory.CreateDirectory(Path.Combine(CacheDirectory, "objects")).FullName;
        _files = Directory.CreateDirectory(Path.Combine(CacheDirectory, "files")).FullName;

        var config = new AmazonS3Config
        {
            ForcePathStyle = options.ForcePathStyle,
            // S3-compatible servers differ in which flexible checksums they take; we send a SHA-256 of our own (see
            // UploadAsync) and verify every download against the manifest.
            RequestChecksumCalculation = RequestChecksumCalculation.WHEN_REQUIRED,
            ResponseChecksumValidation = ResponseChecksumValidation.WHEN_REQUIRED,
        };
        if (ServiceUrl is not null)
        {
            config.ServiceURL = ServiceUrl;
            config.AuthenticationRegion = _region;
        }
        else
        {
            config.RegionEndpoint = RegionEndpoint.GetBySystemName(_region);
        }

        _client = string.IsNullOrWhiteSpace(options.AccessKey)
            ? new AmazonS3Client(config)
            : new AmazonS3Client(new BasicAWSCredentials(options.AccessKey.Trim(), options.SecretKey!.Trim()), config);
    }

    public string Bucket { get; }

    /// <summary>The key prefix inside the bucket ("" for none), without a trailing '/'.</summary>
    public string BucketPrefix { get; }

    /// <summary>The endpoint, when not AWS S3.</summary>
    public string? ServiceUrl { get; }

    public string CacheDirectory { get; }

    /// <summary>s3://bucket or s3://bucket/prefix.</summary>
    public string Location { get; }

    public string CreateStaging() => _staging.Create();

    public int SweepStaging() => _staging.Sweep();

    public Uri UriOf(string key) => new UriBuilder("s3", Bucket) { Path = ObjectKey(ArtifactKeys.Validate(key)) }.Uri;

    public void Dispose() => _client.Dispose();

    /// <summary>Checks (once per store) that the bucket exists, creating it when the options say so. Every other call
    /// does this first; call it at start-up to fail early.</summary>
    public async Task EnsureBucketAsync(CancellationToken cancellationToken)
    {
        if (_bucketChecked) return;
        try
        {
            await _client.HeadBucketAsync(new HeadBucketRequest { BucketName = Bucket }, cancellationToken);
        }
        catch (AmazonS3Exception e) when (e.StatusCode == HttpStatusCode.NotFound)
        {
            if (!_createBucket)
                throw new InvalidOperationException($"the S3 bucket '{Bucket}' does not exist at {Endpoint}: create it, or set Concerto:S3:Bucket to an existing bucket", e);
            var request = new PutBucketRequest { BucketName = Bucket };
            if (!string.Equals(_region, "us-east-1", StringComparison.Ordinal)) request.BucketRegionName = _region;
            try
            {
                await _client.PutBucketAsync(request, cancellationToken);
                LogBucketCreated(_logger, Bucket, Endpoint);
            }
            catch (AmazonS3Exception c) when (c.ErrorCode is "BucketAlreadyOwnedByYou")
            {
                // made by another process in the meantime
            }
        }

        _bucketChecked = true;
    }

    /// <summary>Uploads every file of the staging folder under a new key below <paramref name="prefix"/> (at most
    /// MaxConcurrentTransfers at once), then writes the key's commit marker. On failure it removes what it uploaded, keeps
    /// the staging folder, and throws an <see cref="IOException"/> naming the store and the key (cancellation is rethrown
    /// as it is); on success it deletes the staging folder.</summary>
    public async Task PublishAsync(string stagingPath, string key, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(stagingPath);
        ArtifactKeys.Validate(key);
        var root = Path.TrimEndingDirectorySeparator(Path.GetFullPath(stagingPath));
        if (!Directory.Exists(root)) throw new DirectoryNotFoundException($"the staging folder {root} does not exist (published already, or discarded)");
        var (files, folders) = Staged(root, key);
        await EnsureBucketAsync(cancellationToken);

        var started = Stopwatch.GetTimestamp();
        var entries = new ManifestFile[files.Count];
        try
        {
            await Parallel.ForEachAsync(Enumerable.Range(0, files.Count), Transfers(cancellationToken),
                async (i, token) => entries[i] = await UploadAsync(key, files[i], root, token));
            var manifest = new ArtifactManifest(1, key, DateTimeOffset.UtcNow, entries, folders);
            await _client.PutObjectAsync(new PutObjectRequest
            {
                BucketName = Bucket,
                Key = MarkerKey(key),
                ContentBody = JsonSerializer.Serialize(manifest, ManifestJson.Default.ArtifactManifest),
                ContentType = "application/json",
            }, cancellationToken);
        }
        catch (Exception e)
        {
            LogPublishFailed(_logger, key, Location, e.Message);
            var removed = await TryRemoveUploadAsync(key);
            if (e is OperationCanceledException && cancellationToken.IsCancellationRequested) throw;
            throw new IOException($"publishing {root} to {Location} as '{key}' failed, so nothing was published" +
                                  (removed ? "" : " (some uploaded objects may remain; SweepUnpublishedAsync removes them)") + $": {e.Message}", e);
        }

        LogPublished(_logger, key, Location, files.Count, entries.Sum(f => f.Size), Stopwatch.GetElapsedTime(started).TotalSeconds);
        try
        {
            StagingArea.Discard(root);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            LogStagingNotDeleted(_logger, root, key, e.Message);
        }

    }

    /// <summary>A verified local copy: for a folder key the whole folder, for a file key inside a published folder that
    /// one file (a path inside the folder's copy when that is cached already). Fetched once, then served from the
    /// cache.</summary>
    public async Task<string> LocalPathAsync(string key, CancellationToken cancellationToken)
    {
        ArtifactKeys.Validate(key);
        if (Cached(key) is { } cached) return cached;
        await EnsureBucketAsync(cancellationToken);

        // The innermost folder with a commit marker owns the key: the key itself (a folder key) or an ancestor.
        var segments = key.Split('/');
        for (var n = segments.Length; n >= 1; n--)
        {
            var folder = string.Join('/', segments[..n]);
            var manifest = await ReadManifestAsync(folder, cancellationToken);
            if (manifest is null) continue;
            if (n == segments.Length) return await FetchFolderAsync(key, manifest, cancellationToken);

            var rest = string.Join('/', segments[n..]);
            if (manifest.Files.FirstOrDefault(f => string.Equals(f.Path, rest, StringComparison.Ordinal)) is { } file)
                return await FetchFileAsync(folder, file, cancellationToken);
            if (manifest.Files.Any(f => f.Path.StartsWith(rest + "/", StringComparison.Ordinal)) ||
                (manifest.Folders ?? []).Any(d => string.Equals(d, rest, StringComparison.Ordinal) || d.StartsWith(rest + "/", StringComparison.Ordinal)))
                return Path.Combine(await FetchFolderAsync(folder, manifest, cancellationToken), Local(rest));
            break;
        }

        throw new ArtifactNotFoundException(key, Location);
    }

    /// <summary>Deletes a published folder key: its commit marker first (so it stops being published at once), then
    /// every object below it, then this machine's cached copy. Also removes an unpublished upload under the key. A file
    /// inside a published folder cannot be deleted on its own (published folders never change).</summary>
    public async Task DeleteAsync(string key, CancellationToken cancellationToken)
    {
        ArtifactKeys.Validate(key);
        await EnsureBucketAsync(cancellationToken);
        await _client.DeleteObjectAsync(Bucket, MarkerKey(key), cancellationToken);
        var removed = await DeleteBelowAsync(key, cancellationToken);
        RemoveCached(key);
        if (removed > 0) return;

        var segments = key.Split('/');
        for (var n = segments.Length - 1; n >= 1; n--)
        {
            var folder = string.Join('/', segments[..n]);
            if (await MarkerExistsAsync(folder, cancellationToken))
                throw new InvalidOperationException($"'{key}' lies inside the published artifact '{folder}' in {Location}, and published artifacts never change: delete '{folder}' instead");
        }
    }

    /// <summary>The published folder keys (those with a commit marker) directly below <paramref name="prefix"/>, in
    /// ordinal order.</summary>
    public async Task<IReadOnlyList<string>> ListAsync(string prefix, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(prefix);
        var parent = ArtifactKeys.Validate(prefix.TrimEnd('/'));
        await EnsureBucketAsync(cancellationToken);
        var children = new List<string>();
        string? token = null;
        do
        {
            var page = await _client.ListObjectsV2Async(new ListObjectsV2Request
            {
                BucketName = Bucket,
                Prefix = ObjectKey(parent) + "/",
                Delimiter = "/",
                ContinuationToken = token,
            }, cancellationToken);
            foreach (var common in page.CommonPrefixes ?? [])
            {
                var child = StoreKey(common.TrimEnd('/'));
                if (ArtifactKeys.IsValid(child)) children.Add(child);
            }

            token = page.IsTruncated == true ? page.NextContinuationToken : null;
        } while (token is not null);

        var published = new bool[children.Count];
        await Parallel.ForEachAsync(Enumerable.Range(0, children.Count), Transfers(cancellationToken),
            async (i, t) => published[i] = await MarkerExistsAsync(children[i], t));
        return children.Where((_, i) => published[i]).Order(StringComparer.Ordinal).ToList();
    }

    /// <summary>Removes uploads that never got a commit marker (a publisher that died half way, or a delete that did):
    /// below <paramref name="prefix"/>, every object outside a published folder, grouped by the folder key it was meant
    /// for, once the newest object of that group is older than <paramref name="olderThan"/>. The grace period must be
    /// longer than the slowest publish, or a publish still uploading loses objects. Returns how many folder keys it
    /// cleared.</summary>
    public async Task<int> SweepUnpublishedAsync(string prefix, TimeSpan olderThan, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(prefix);
        ArgumentOutOfRangeException.ThrowIfLessThan(olderThan, TimeSpan.Zero);
        var parent = ArtifactKeys.Validate(prefix.TrimEnd('/'));
        await EnsureBucketAsync(cancellationToken);
        var parentSegments = parent.Split('/');
        for (var n = parentSegments.Length; n >= 1; n--)
        {
            if (await MarkerExistsAsync(string.Join('/', parentSegments[..n]), cancellationToken)) return 0; // all of it is published
        }

        var markers = new HashSet<string>(StringComparer.Ordinal);
        var objects = new List<(string Key, string ObjectKey, DateTime Modified)>();
        string? token = null;
        do
        {
            var page = await _client.ListObjectsV2Async(new ListObjectsV2Request
            {
                BucketName = Bucket,
                Prefix = ObjectKey(parent) + "/",
                ContinuationToken = token,
            }, cancellationToken);
            foreach (var o in page.S3Objects ?? [])
            {
                var key = StoreKey(o.Key);
                if (key.EndsWith("/" + MarkerName, StringComparison.Ordinal)) markers.Add(key[..^(MarkerName.Length + 1)]);
                else objects.Add((key, o.Key, o.LastModified?.ToUniversalTime() ?? DateTime.UtcNow));
            }

            token = page.IsTruncated == true ? page.NextContinuationToken : null;
        } while (token is not null);

        var groups = new Dictionary<string, List<(string ObjectKey, DateTime Modified)>>(StringComparer.Ordinal);
        foreach (var (key, objectKey, modified) in objects)
        {
            var segments = key.Split('/');
            string? group = null;
            var published = false;
            for (var n = parentSegments.Length + 1; n < segments.Length && !published; n++)
            {
                var folder = string.Join('/', segments[..n]);
                published = markers.Contains(folder);
                if (group is null && ArtifactKeys.IsPublicationSegment(segments[n - 1])) group = folder;
            }

            if (published) continue;
            group ??= string.Join('/', segments[..(parentSegments.Length + 1)]);
            if (!groups.TryGetValue(group, out var members)) groups[group] = members = [];
            members.Add((objectKey, modified));
        }

        var cutoff = DateTime.UtcNow - olderThan;
        var cleared = 0;
        foreach (var (group, members) in groups)
        {
            if (members.Max(m => m.Modified) > cutoff) continue;
            if (await MarkerExistsAsync(group, cancellationToken)) continue; // published since the listing
            await DeleteObjectsAsync(members.Select(m => m.ObjectKey).ToList(), cancellationToken);
            LogUnpublishedRemoved(_logger, group, Location, members.Count);
            cleared++;
        }

        return cleared;
    }

    private string Endpoint => ServiceUrl ?? $"AWS S3 ({_region})";

    private ParallelOptions Transfers(CancellationToken cancellationToken) =>
        new() { MaxDegreeOfParallelism = _parallelism, CancellationToken = cancellationToken };

    private string ObjectKey(string key) => BucketPrefix.Length == 0 ? key : $"{BucketPrefix}/{key}";

    private string MarkerKey(string folderKey) => $"{ObjectKey(folderKey)}/{MarkerName}";

    private string StoreKey(string objectKey) => BucketPrefix.Length == 0 ? objectKey : objectKey[(BucketPrefix.Length + 1)..];

    private static string Local(string relative) => relative.Replace('/', Path.DirectorySeparatorChar);

    private static string? FirstSet(params string?[] values) => values.FirstOrDefault(v => !string.IsNullOrWhiteSpace(v))?.Trim();

    /// <summary>The files (sorted, with '/'-separated relative paths) and empty folders of a staging folder.</summary>
    private static (List<string> Files, List<string> Folders) Staged(string root, string key)
    {
        var all = new EnumerationOptions { RecurseSubdirectories = true, AttributesToSkip = 0, IgnoreInaccessible = false };
        string Relative(string path)
        {
            var relative = Path.GetRelativePath(root, path).Replace(Path.DirectorySeparatorChar, '/');
            ArtifactKeys.Combine(key, relative);
            return relative;
        }

        var files = Directory.EnumerateFiles(root, "*", all).Select(Relative).Order(StringComparer.Ordinal).ToList();
        if (files.Contains(MarkerName))
            throw new ArgumentException($"the staging folder {root} has a file named '{MarkerName}' at its top, a name the S3 artifact store keeps for its commit marker: rename it", nameof(root));
        var folders = Directory.EnumerateDirectories(root, "*", all)
            .Where(d => !Directory.EnumerateFileSystemEntries(d).Any())
            .Select(Relative).Order(StringComparer.Ordinal).ToList();
        return (files, folders);
    }

    private async Task<ManifestFile> UploadAsync(string key, string relative, string root, CancellationToken cancellationToken)
    {
        var stream = new FileStream(Path.Combine(root, Local(relative)), FileMode.Open, FileAccess.Read, FileShare.Read, CopyBuffer,
            FileOptions.Asynchronous | FileOptions.SequentialScan);
        await using (stream)
        {
            var hash = await SHA256.HashDataAsync(stream, cancellationToken);
            var size = stream.Position;
            stream.Position = 0;
            // S3 checks the SHA-256 too (servers that do not ignore it): a file that changed after hashing is refused. Readers
            // check every download against the manifest either way.
            await _client.PutObjectAsync(new PutObjectRequest
            {
                BucketName = Bucket,
                Key = ObjectKey(ArtifactKeys.Combine(key, relative)),
                InputStream = stream,
                AutoCloseStream = false,
                ChecksumSHA256 = Convert.ToBase64String(hash),
            }, cancellationToken);
            return new ManifestFile(relative, size, Convert.ToHexStringLower(hash));
        }
    }

    /// <summary>Best effort, also when the publish was cancelled: the marker (in case its write went through after
    /// all), then everything below the key.</summary>
    private async Task<bool> TryRemoveUploadAsync(string key)
    {
        using var timeout = new CancellationTokenSource(CleanupTimeout);
        try
        {
            await _client.DeleteObjectAsync(Bucket, MarkerKey(key), timeout.Token);
            await DeleteBelowAsync(key, timeout.Token);
            return true;
        }
        catch (Exception e) when (e is AmazonServiceException or AmazonClientException or IOException or OperationCanceledException or HttpRequestException)
        {
            LogCleanupFailed(_logger, key, Location, e.Message);
            return false;
        }
    }

    /// <summary>Deletes every object below a key (paged ListObjectsV2 and DeleteObjects); returns how many.</summary>
    private async Task<int> DeleteBelowAsync(string key, CancellationToken cancellationToken)
    {
        var removed = 0;
        string? token = null;
        do
        {
            var page = await _client.ListObjectsV2Async(new ListObjectsV2Request
            {
                BucketName = Bucket,
                Prefix = ObjectKey(key) + "/",
                ContinuationToken = token,
                MaxKeys = DeleteBatch,
            }, cancellationToken);
            var keys = (page.S3Objects ?? []).Select(o => o.Key).ToList();
            await DeleteObjectsAsync(keys, cancellationToken);
            removed += keys.Count;
            token = page.IsTruncated == true ? page.NextContinuationToken : null;
        } while (token is not null);

        return removed;
    }

    private async Task DeleteObjectsAsync(IReadOnlyList<string> objectKeys, CancellationToken cancellationToken)
    {
        foreach (var batch in objectKeys.Chunk(DeleteBatch))
        {
            var response = await _client.DeleteObjectsAsync(new DeleteObjectsRequest
            {
                BucketName = Bucket,
                Objects = batch.Select(k => new KeyVersion { Key = k }).ToList(),
                Quiet = true,
            }, cancellationToken);
            if (response.DeleteErrors is { Count: > 0 } errors)
                throw new IOException($"{errors.Count} objects in {Location} could not be deleted, e.g. '{errors[0].Key}': {errors[0].Code} {errors[0].Message}");
        }
    }

    private async Task<bool> MarkerExistsAsync(string folderKey, CancellationToken cancellationToken)
    {
        try
        {
            await _client.GetObjectMetadataAsync(Bucket, MarkerKey(folderKey), cancellationToken);
            return true;
        }
        catch (AmazonS3Exception e) when (e.StatusCode == HttpStatusCode.NotFound)
        {
            return false;
        }
    }

    private async Task<ArtifactManifest?> ReadManifestAsync(string folderKey, CancellationToken cancellationToken)
    {
        try
        {
            using var response = await _client.GetObjectAsync(Bucket, MarkerKey(folderKey), cancellationToken);
            var manifest = await JsonSerializer.DeserializeAsync(response.ResponseStream, ManifestJson.Default.ArtifactManifest, cancellationToken);
            if (manifest?.Files is null || manifest.Files.Any(f => f?.Path is null || !ArtifactKeys.IsValid(f.Path) || f.Sha256 is null) ||
                (manifest.Folders ?? []).Any(d => d is null || !ArtifactKeys.IsValid(d)))
                throw new InvalidDataException($"the commit marker of '{folderKey}' in {Location} is not a valid manifest");
            return manifest;
        }
        catch (AmazonS3Exception e) when (e.StatusCode == HttpStatusCode.NotFound)
        {
            return null;
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"the commit marker of '{folderKey}' in {Location} is not a valid manifest: {e.Message}", e);
        }
    }

    /// <summary>The cached copy of a key, if this machine has one: a fetched folder, a file or folder inside one, or a
    /// single fetched file.</summary>
    private string? Cached(string key)
    {
        var folder = Path.Combine(_folders, CacheName(key));
        if (Directory.Exists(folder)) return folder;
        var segments = key.Split('/');
        for (var n = segments.Length - 1; n >= 1; n--)
        {
            var owner = string.Join('/', segments[..n]);
            var rest = Local(string.Join('/', segments[n..]));
            var inside = Path.Combine(_folders, CacheName(owner), rest);
            if (File.Exists(inside) || Directory.Exists(inside)) return inside;
            var single = Path.Combine(_files, CacheName(owner), rest);
            if (File.Exists(single)) return single;
        }

        return null;
    }

    private void RemoveCached(string key)
    {
        foreach (var path in new[] { Path.Combine(_folders, CacheName(key)), Path.Combine(_files, CacheName(key)) })
        {
            try
            {
                Directory.Delete(path, recursive: true);
            }
            catch (DirectoryNotFoundException)
            {
                // not cached here, or removed by a concurrent delete
            }
        }
    }

    /// <summary>One folder name per key in the flat cache folders (so a cached folder never looks like a prefix of other
    /// keys): '%' and '/' escaped, or a SHA-256 when that would be too long for a file name.</summary>
    internal static string CacheName(string key)
    {
        var name = key.Replace("%", "%25", StringComparison.Ordinal).Replace("/", "%2F", StringComparison.Ordinal);
        return Encoding.UTF8.GetByteCount(name) <= 200 ? name : "sha256-" + Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(key)));
    }

    /// <summary>Downloads every file of the manifest into a staging folder, verifies each, then renames the folder into
    /// the cache; if another process (or call) got there first, its copy is used.</summary>
    private async Task<string> FetchFolderAsync(string key, ArtifactManifest manifest, CancellationToken cancellationToken)
    {
        var target = Path.Combine(_folders, CacheName(key));
        if (Directory.Exists(target)) return target;
        var temp = _staging.Create();
        try
        {
            foreach (var folder in manifest.Folders ?? []) Directory.CreateDirectory(Path.Combine(temp, Local(folder)));
            await Parallel.ForEachAsync(manifest.Files, Transfers(cancellationToken),
                async (file, token) => await DownloadAsync(key, file, Path.Combine(temp, Local(file.Path)), token));
            try
            {
                Directory.Move(temp, target);
                LogFetched(_logger, key, Location, manifest.Files.Count, manifest.Files.Sum(f => f.Size));
            }
            catch (IOException) when (Directory.Exists(target))
            {
                // another process or call renamed its verified copy first: it holds the same bytes
            }

            return target;
        }
        finally
        {
            TryDiscard(temp);
        }
    }

    private async Task<string> FetchFileAsync(string folderKey, ManifestFile file, CancellationToken cancellationToken)
    {
        var target = Path.Combine(_files, CacheName(folderKey), Local(file.Path));
        if (File.Exists(target)) return target;
        var temp = _staging.Create();
        try
        {
            var download = Path.Combine(temp, "file");
            await DownloadAsync(folderKey, file, download, cancellationToken);
            Directory.CreateDirectory(Path.GetDirectoryName(target)!);
            try
            {
                File.Move(download, target, overwrite: false);
            }
            catch (IOException) when (File.Exists(target))
            {
                // fetched by another process or call first
            }

            return target;
        }
        finally
        {
            TryDiscard(temp);
        }
    }

    private async Task DownloadAsync(string folderKey, ManifestFile file, string target, CancellationToken cancellationToken)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(target)!);
        GetObjectResponse response;
        try
        {
            response = await _client.GetObjectAsync(Bucket, ObjectKey(ArtifactKeys.Combine(folderKey, file.Path)), cancellationToken);
        }
        catch (AmazonS3Exception e) when (e.StatusCode == HttpStatusCode.NotFound)
        {
            // Listed by the commit marker but gone: the key is being deleted (the marker goes first).
            throw new ArtifactNotFoundException(folderKey, Location);
        }

        using (response)
        {
            using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
            var buffer = ArrayPool<byte>.Shared.Rent(CopyBuffer);
            long size = 0;
            try
            {
                await using var output = new FileStream(target, FileMode.CreateNew, FileAccess.Write, FileShare.None, CopyBuffer, FileOptions.Asynchronous);
                int read;
                while ((read = await response.ResponseStream.ReadAsync(buffer.AsMemory(0, CopyBuffer), cancellationToken)) > 0)
                {
                    hash.AppendData(buffer, 0, read);
                    await output.WriteAsync(buffer.AsMemory(0, read), cancellationToken);
                    size += read;
                }
            }
            finally
            {
                ArrayPool<byte>.Shared.Return(buffer);
            }

            var sha256 = Convert.ToHexStringLower(hash.GetHashAndReset());
            if (size != file.Size || !string.Equals(sha256, file.Sha256, StringComparison.OrdinalIgnoreCase))
                throw new InvalidDataException($"'{file.Path}' of the artifact '{folderKey}' in {Location} has {size} bytes with SHA-256 {sha256}, " +
                                               $"but its manifest says {file.Size} bytes with SHA-256 {file.Sha256}: the object was changed or damaged in the bucket");
        }
    }

    private static void TryDiscard(string path)
    {
        try
        {
            StagingArea.Discard(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // SweepStaging removes it later
        }
    }

    [LoggerMessage(EventId = 1101, Level = LogLevel.Information, Message = "Published {Key} to {Location}: {Files} files, {Bytes} bytes in {Seconds:0.00} s")]
    private static partial void LogPublished(ILogger logger, string key, string location, int files, long bytes, double seconds);

    [LoggerMessage(EventId = 1102, Level = LogLevel.Warning, Message = "Publishing {Key} to {Location} failed, removing what was uploaded: {Reason}")]
    private static partial void LogPublishFailed(ILogger logger, string key, string location, string reason);

    [LoggerMessage(EventId = 1103, Level = LogLevel.Warning, Message = "Could not remove the partial upload {Key} from {Location} (SweepUnpublishedAsync removes it later): {Reason}")]
    private static partial void LogCleanupFailed(ILogger logger, string key, string location, string reason);

    [LoggerMessage(EventId = 1104, Level = LogLevel.Warning, Message = "Could not delete the staging folder {Path} after publishing {Key} (SweepStaging removes it later): {Reason}")]
    private static partial void LogStagingNotDeleted(ILogger logger, string path, string key, string reason);

    [LoggerMessage(EventId = 1105, Level = LogLevel.Information, Message = "Fetched {Key} from {Location}: {Files} files, {Bytes} bytes")]
    private static partial void LogFetched(ILogger logger, string key, string location, int files, long bytes);

    [LoggerMessage(EventId = 1106, Level = LogLevel.Information, Message = "Removed the unpublished upload {Key} from {Location}: {Objects} objects")]
    private static partial void LogUnpublishedRemoved(ILogger logger, string key, string location, int objects);

    [LoggerMessage(EventId = 1107, Level = LogLevel.Information, Message = "Created the bucket {Bucket} at {Endpoint}")]
    private static partial void LogBucketCreated(ILogger logger, string bucket, string endpoint);
}

/// <summary>The content of a commit marker.</summary>
internal sealed record ArtifactManifest(int Version, string Key, DateTimeOffset Published, IReadOnlyList<ManifestFile> Files, IReadOnlyList<string>? Folders);

internal sealed record ManifestFile(string Path, long Size, string Sha256);

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase)]
[JsonSerializable(typeof(ArtifactManifest))]
internal sealed partial class ManifestJson : JsonSerializerContext;
