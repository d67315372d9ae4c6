using System.IO.Pipes;
using System.Runtime.InteropServices;

namespace Concerto.Ingest.Media.Decode;

/// <summary>Grows a Linux pipe's kernel buffer (64 KB by default) so ffmpeg can hand over a whole frame per write
/// instead of blocking every 64 KB. Best effort: other systems, or a size above /proc/sys/fs/pipe-max-size, keep the
/// default.</summary>
internal static partial class PipeBuffer
{
    private const int SetPipeSize = 1031; // F_SETPIPE_SZ
    private const int MaxUnprivileged = 1 << 20;

    public static void TryEnlarge(Stream stream, int frameBytes)
    {
        if (!OperatingSystem.IsLinux()) return;
        var handle = stream switch
        {
            FileStream f => f.SafeFileHandle.DangerousGetHandle(),
            PipeStream p => p.SafePipeHandle.DangerousGetHandle(),
            _ => IntPtr.Zero,
        };
        if (handle == IntPtr.Zero) return;
        _ = Fcntl((int)handle, SetPipeSize, Math.Min(MaxUnprivileged, Math.Max(frameBytes, 1 << 16)));
    }

    [LibraryImport("libc", EntryPoint = "fcntl", SetLastError = true)]
    private static partial int Fcntl(int fd, int command, int argument);
}
