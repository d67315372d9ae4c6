namespace Concerto.Ingest.Storage.Artifacts;

/// <summary>Where stage outputs live: a folder tree (one machine, or a shared mount) or an S3-compatible bucket (several
/// machines). A stage writes into a local staging folder and publishes it under a fresh, unique key, atomically: a reader
/// sees all of a published key or none of it. Published keys are never rewritten, only deleted, so a local copy of one is
/// valid for ever. Keys are relative paths with '/' separators (see <see cref="ArtifactKeys"/>); a folder key names a
/// published folder, a file key a file inside one.</summary>
public interface IArtifactStore
{
    /// <summary>Where the store keeps artifacts, for messages: a folder path or an s3:// URI.</summary>
    string Location { get; }

    /// <summary>A new empty local folder for a stage's outputs.</summary>
    string CreateStaging();

    /// <summary>Publishes a staging folder under <paramref name="key"/>, a new key from <see cref="ArtifactKeys.NewUnique"/>
    /// (callers record it first, so a crash mid-publish leaves a name to clean up). The staging folder is consumed (moved or
    /// deleted) on success; on failure nothing is visible under the key, and <see cref="DeleteAsync"/> removes any part
    /// written.</summary>
    Task PublishAsync(string stagingPath, string key, CancellationToken cancellationToken);

    /// <summary>A local file or folder holding the key's content (the folder store's own path; for a remote store, a
    /// cached copy). Throws <see cref="ArtifactNotFoundException"/> when the key is not published.</summary>
    Task<string> LocalPathAsync(string key, CancellationToken cancellationToken);

    /// <summary>Deletes a key (folder or file), published or partly written; no error when it is gone already.</summary>
    Task DeleteAsync(string key, CancellationToken cancellationToken);

    /// <summary>The published folder keys directly below <paramref name="prefix"/> (e.g. every output ever published
    /// for one run's stage), for sweeping those no row points at.</summary>
    Task<IReadOnlyList<string>> ListAsync(string prefix, CancellationToken cancellationToken);

    /// <summary>A URI for manifests: file:// for the folder store, s3://bucket/... for a bucket.</summary>
    Uri UriOf(string key);

    /// <summary>Removes staging folders left by processes that died (kill -9, power loss) before publishing; returns how
    /// many it removed.</summary>
    int SweepStaging();
}

/// <summary>A key that is not (or no longer) published.</summary>
public sealed class ArtifactNotFoundException(string key, string location)
    : Exception($"artifact '{key}' is not in the artifact store {location} (deleted, or never published)")
{
    public string Key { get; } = key;
}
