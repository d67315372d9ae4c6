namespace Concerto.Ingest.Storage.Artifacts;

/// <summary>An S3-compatible bucket as the artifact store (AWS S3, MinIO, Ceph RGW, ...). Bound from the "Concerto:S3"
/// configuration section; the store is used when <see cref="Bucket"/> is set.</summary>
public sealed class S3ArtifactOptions
{
    public const string Section = "Concerto:S3";

    /// <summary>The endpoint of an S3-compatible server (e.g. http://minio:9000). Empty: AWS S3 in <see cref="Region"/>.</summary>
    public string? ServiceUrl { get; set; }

    /// <summary>The bucket holding the artifacts. It must exist unless <see cref="CreateBucket"/> is set.</summary>
    public string? Bucket { get; set; }

    /// <summary>A key prefix inside the bucket (e.g. "concerto/prod"), so several deployments can share one bucket.
    /// Empty: artifact keys are object keys.</summary>
    public string? Prefix { get; set; }

    /// <summary>The signing region. Empty: AWS_REGION, then AWS_DEFAULT_REGION, then us-east-1.</summary>
    public string? Region { get; set; }

    /// <summary>Access key id. Empty (with <see cref="SecretKey"/> empty too): the standard AWS credential sources
    /// (AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY / AWS_SESSION_TOKEN, the shared credentials file, an instance role).</summary>
    public string? AccessKey { get; set; }

    public string? SecretKey { get; set; }

    /// <summary>Path-style URLs (http://host/bucket/key), which S3-compatible servers need; false for virtual-hosted
    /// style on AWS.</summary>
    public bool ForcePathStyle { get; set; } = true;

    /// <summary>Local folder for staging and for cached copies of published keys. Empty: the state directory's
    /// artifact-cache folder (see <see cref="ArtifactStores.Create"/>).</summary>
    public string? CacheDirectory { get; set; }

    /// <summary>Create the bucket when it does not exist (tests, a fresh MinIO); otherwise a missing bucket is an error.</summary>
    public bool CreateBucket { get; set; }

    /// <summary>How many objects are uploaded or downloaded at once for one artifact.</summary>
    public int MaxConcurrentTransfers { get; set; } = 4;

    internal S3ArtifactOptions Copy() => (S3ArtifactOptions)MemberwiseClone();
}
