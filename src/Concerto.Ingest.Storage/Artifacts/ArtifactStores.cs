using Microsoft.Extensions.Logging;

namespace Concerto.Ingest.Storage.Artifacts;

/// <summary>Picks the artifact store the configuration asks for.</summary>
public static class ArtifactStores
{
    /// <summary>An <see cref="S3ArtifactStore"/> when <paramref name="s3"/> names a bucket (its cache folder defaulting to
    /// StateDirectory/artifact-cache), else a <see cref="FolderArtifactStore"/> at the artifact root. The S3 store is
    /// IDisposable: whoever creates it disposes it.</summary>
    public static IArtifactStore Create(StorageOptions storage, S3ArtifactOptions? s3, ILoggerFactory? loggers = null)
    {
        ArgumentNullException.ThrowIfNull(storage);
        if (s3 is null || string.IsNullOrWhiteSpace(s3.Bucket)) return new FolderArtifactStore(storage.ResolveArtifactRoot());
        var options = s3.Copy();
        if (string.IsNullOrWhiteSpace(options.CacheDirectory)) options.CacheDirectory = Path.Combine(storage.ResolveStateDirectory(), "artifact-cache");
        return new S3ArtifactStore(options, loggers?.CreateLogger<S3ArtifactStore>());
    }
}
