using System.Security.Cryptography;

namespace Concerto.Ingest.Media.Probe;

/// <summary>SHA-256 of a file's bytes: the identity of a video, so the same file under two names is one video.</summary>
public static class ContentHasher
{
    public static async Task<byte[]> Sha256Async(string path, CancellationToken cancellationToken)
    {
        var options = new FileStreamOptions { Access = FileAccess.Read, BufferSize = 1 << 20, Options = FileOptions.SequentialScan };
        await using var stream = new FileStream(path, options);
        return await SHA256.HashDataAsync(stream, cancellationToken).ConfigureAwait(false);
    }
}
