using System.Globalization;
using System.Security.Cryptography;

namespace Concerto.Ingest.Storage.Artifacts;

/// <summary>Artifacts in a folder tree (a shared mount when several machines work). A stage writes into a private
/// staging folder and publishes it with one rename into a fresh, uniquely named folder, so a reader never sees a
/// half-written output; rows then point at the published key. Keys are relative paths with '/' separators.</summary>
public sealed class FolderArtifactStore
{
    private const string StagingFolder = ".staging";

    public FolderArtifactStore(string root)
    {
        Root = Path.TrimEndingDirectorySeparator(Path.GetFullPath(root));
        Directory.CreateDirectory(Path.Combine(Root, StagingFolder));
    }

    public string Root { get; }

    /// <summary>A new empty folder, on the same file system as the published tree (so publishing is a rename).</summary>
    public string CreateStaging()
    {
        var path = Path.Combine(Root, StagingFolder, Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(path);
        return path;
    }

    /// <summary>Moves a staging folder to a new key under <paramref name="prefix"/>; returns that key.</summary>
    public string Publish(string stagingPath, string prefix)
    {
        var stamp = DateTime.UtcNow.ToString("yyyyMMdd'T'HHmmss", CultureInfo.InvariantCulture) + "-" +
                    Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(4));
        var key = $"{prefix.TrimEnd('/')}/{stamp}";
        var target = Resolve(key);
        Directory.CreateDirectory(Path.GetDirectoryName(target)!);
        Directory.Move(stagingPath, target);
        return key;
    }

    /// <summary>The absolute path of a key; refuses keys that would leave the root.</summary>
    public string Resolve(string key)
    {
        ArgumentException.ThrowIfNullOrEmpty(key);
        var full = Path.GetFullPath(Path.Combine(Root, key));
        var inside = Root.EndsWith(Path.DirectorySeparatorChar) ? Root : Root + Path.DirectorySeparatorChar;
        if (!full.StartsWith(inside, StringComparison.Ordinal))
            throw new ArgumentException($"artifact key '{key}' points outside the artifact root", nameof(key));
        return full;
    }

    public void Delete(string key)
    {
        var path = Resolve(key);
        if (Directory.Exists(path)) Directory.Delete(path, recursive: true);
        else if (File.Exists(path)) File.Delete(path);
    }

    public static void DiscardStaging(string stagingPath)
    {
        if (Directory.Exists(stagingPath)) Directory.Delete(stagingPath, recursive: true);
    }
}
