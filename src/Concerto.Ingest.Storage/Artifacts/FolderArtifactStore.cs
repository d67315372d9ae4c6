namespace Concerto.Ingest.Storage.Artifacts;

/// <summary>Artifacts in a folder tree (a shared mount when several machines work). Staging folders live under the root,
/// on the same file system, so publishing is one rename into a fresh, uniquely named folder and a reader never sees a
/// half-written output.</summary>
public sealed class FolderArtifactStore : IArtifactStore
{
    private readonly StagingArea _staging;

    public FolderArtifactStore(string root)
    {
        Root = Path.TrimEndingDirectorySeparator(Path.GetFullPath(root));
        _staging = new StagingArea(Path.Combine(Root, ".staging"));
    }

    public string Root { get; }

    public string Location => Root;

    public string CreateStaging() => _staging.Create();

    public Task<string> PublishAsync(string stagingPath, string prefix, CancellationToken cancellationToken)
    {
        var key = ArtifactKeys.NewKey(prefix);
        var target = Resolve(key);
        Directory.CreateDirectory(Path.GetDirectoryName(target)!);
        Directory.Move(stagingPath, target);
        return Task.FromResult(key);
    }

    public Task<string> LocalPathAsync(string key, CancellationToken cancellationToken)
    {
        var path = Resolve(key);
        if (!Directory.Exists(path) && !File.Exists(path)) throw new ArtifactNotFoundException(key, Location);
        return Task.FromResult(path);
    }

    public Task DeleteAsync(string key, CancellationToken cancellationToken)
    {
        var path = Resolve(key);
        if (Directory.Exists(path)) Directory.Delete(path, recursive: true);
        else if (File.Exists(path)) File.Delete(path);
        return Task.CompletedTask;
    }

    public Task<IReadOnlyList<string>> ListAsync(string prefix, CancellationToken cancellationToken)
    {
        var folder = Resolve(prefix.TrimEnd('/'));
        IReadOnlyList<string> keys = Directory.Exists(folder)
            ? Directory.EnumerateDirectories(folder).Select(d => $"{prefix.TrimEnd('/')}/{Path.GetFileName(d)}").Order(StringComparer.Ordinal).ToList()
            : [];
        return Task.FromResult(keys);
    }

    public Uri UriOf(string key) => new(Resolve(key));

    public int SweepStaging() => _staging.Sweep();

    /// <summary>The absolute path of a key (validated by <see cref="ArtifactKeys"/>, and checked to stay under the root
    /// after the file system resolves it).</summary>
    public string Resolve(string key)
    {
        ArtifactKeys.Validate(key);
        var full = Path.GetFullPath(Path.Combine(Root, key));
        if (!full.StartsWith(Root + Path.DirectorySeparatorChar, StringComparison.Ordinal))
            throw new InvalidArtifactKeyException(key, "it points outside the artifact root");
        return full;
    }
}
