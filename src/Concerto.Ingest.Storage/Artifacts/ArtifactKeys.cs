using System.Globalization;
using System.Security.Cryptography;
using System.Text.RegularExpressions;

namespace Concerto.Ingest.Storage.Artifacts;

/// <summary>The one check every artifact key passes before a store touches it, whether it came from our own code, the
/// database or an API request: relative, '/'-separated, no empty, '.' or '..' segments, no backslashes or control
/// characters. So no key can name anything outside the store's root, on a file system or in a bucket.</summary>
public static partial class ArtifactKeys
{
    public static string Validate(string key)
    {
        if (Problem(key) is { } reason) throw new InvalidArtifactKeyException(key ?? "", reason);
        return key;
    }

    /// <summary>Whether <see cref="Validate"/> accepts the key (for names found in a listing, which may not be ours).</summary>
    internal static bool IsValid(string key) => Problem(key) is null;

    private static string? Problem(string key)
    {
        if (string.IsNullOrEmpty(key)) return "it is empty";
        if (key.Length > 1024) return "it is longer than 1024 characters";
        if (key[0] == '/') return "it is absolute";
        foreach (var c in key)
        {
            if (c == '\\' || char.IsControl(c)) return "it contains a backslash or a control character";
        }

        foreach (var segment in key.Split('/'))
        {
            if (segment is "" or "." or "..") return "it has an empty, '.' or '..' segment";
        }

        return null;
    }

    /// <summary>A key below <paramref name="key"/>: the same checks on the joined key.</summary>
    public static string Combine(string key, string relative) => Validate($"{key.TrimEnd('/')}/{relative}");

    /// <summary>A fresh key for a publication below <paramref name="prefix"/> (trailing '/' ignored):
    /// prefix/yyyyMMddTHHmmss-random, unique, and sorted by publication time. Every store names its publications so.</summary>
    public static string NewUnique(string prefix)
    {
        var stamp = DateTime.UtcNow.ToString("yyyyMMdd'T'HHmmss", CultureInfo.InvariantCulture) + "-" +
                    Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(4));
        return Combine(Validate(prefix.TrimEnd('/')), stamp);
    }

    /// <summary>Whether a key segment has the shape <see cref="NewUnique"/> gives the last segment of a new key.</summary>
    internal static bool IsPublicationSegment(string segment) => PublicationSegment().IsMatch(segment);

    [GeneratedRegex("^[0-9]{8}T[0-9]{6}-[0-9a-f]{8}$", RegexOptions.CultureInvariant)]
    private static partial Regex PublicationSegment();
}

/// <summary>A key that could leave the artifact root or is malformed; API callers turn it into 400.</summary>
public sealed class InvalidArtifactKeyException(string key, string reason)
    : ArgumentException($"artifact key '{key}' is not allowed: {reason}")
{
    public string Key { get; } = key;
}
