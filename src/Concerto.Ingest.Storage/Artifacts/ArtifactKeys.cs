using System.Globalization;
using System.Security.Cryptography;

namespace Concerto.Ingest.Storage.Artifacts;

/// <summary>The one check every artifact key passes before a store touches it, whether it came from our own code, the
/// database or an API request: relative, '/'-separated, no empty, '.' or '..' segments, no backslashes or control
/// characters. So no key can name anything outside the store's root, on a file system or in a bucket.</summary>
public static class ArtifactKeys
{
    public static string Validate(string key)
    {
        if (string.IsNullOrEmpty(key)) throw new InvalidArtifactKeyException(key ?? "", "it is empty");
        if (key.Length > 1024) throw new InvalidArtifactKeyException(key, "it is longer than 1024 characters");
        if (key[0] == '/') throw new InvalidArtifactKeyException(key, "it is absolute");
        foreach (var c in key)
        {
            if (c == '\\' || char.IsControl(c)) throw new InvalidArtifactKeyException(key, "it contains a backslash or a control character");
        }

        foreach (var segment in key.Split('/'))
        {
            if (segment is "" or "." or "..") throw new InvalidArtifactKeyException(key, "it has an empty, '.' or '..' segment");
        }

        return key;
    }

    /// <summary>A fresh key for a publication: prefix/yyyyMMddTHHmmss-random, unique and sorted by time.</summary>
    public static string NewUnique(string prefix)
    {
        var stamp = DateTime.UtcNow.ToString("yyyyMMdd'T'HHmmss", CultureInfo.InvariantCulture) + "-" +
                    Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(4));
        return Combine(Validate(prefix.TrimEnd('/')), stamp);
    }

    /// <summary>A key below <paramref name="key"/>: the same checks on the joined key.</summary>
    public static string Combine(string key, string relative) => Validate($"{key.TrimEnd('/')}/{relative}");
}

/// <summary>A key that could leave the artifact root or is malformed; API callers turn it into 400.</summary>
public sealed class InvalidArtifactKeyException(string key, string reason)
    : ArgumentException($"artifact key '{key}' is not allowed: {reason}")
{
    public string Key { get; } = key;
}
