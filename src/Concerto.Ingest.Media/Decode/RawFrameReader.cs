using System.Runtime.InteropServices;
using System.Threading.Channels;
using Concerto.Ingest.Core.Media;
using Concerto.Ingest.Media.Ffmpeg;

namespace Concerto.Ingest.Media.Decode;

/// <summary>One decoded rgb24 frame in a pinned, pooled buffer. Return it with <see cref="RawFrameReader.Recycle"/>.</summary>
public sealed class RawFrame(byte[] pixels)
{
    public byte[] Pixels { get; } = pixels;
    public long Index { get; internal set; }

    /// <summary>Address of the pinned pixel buffer, for wrapping in an OpenCV Mat without a copy.</summary>
    public IntPtr Address => Marshal.UnsafeAddrOfPinnedArrayElement(Pixels, 0);
}

/// <summary>Streams frames from an ffmpeg process. A background task splits stdout into frames of exactly
/// width*height*3 bytes and hands them over through a small bounded channel, so ffmpeg keeps decoding while the
/// consumer scores the previous frame. Memory is a fixed ring of buffers whatever the video's length.</summary>
public sealed class RawFrameReader : IAsyncDisposable
{
    private const int RingSize = 4;
    private readonly ToolProcess _ffmpeg;
    private readonly Channel<RawFrame> _frames = Channel.CreateBounded<RawFrame>(RingSize - 1);
    private readonly Channel<RawFrame> _free = Channel.CreateUnbounded<RawFrame>();
    private readonly CancellationTokenSource _stop;
    private readonly Task _pump;

    private RawFrameReader(ToolProcess ffmpeg, FrameSize size, CancellationToken cancellationToken)
    {
        _ffmpeg = ffmpeg;
        for (var i = 0; i < RingSize; i++)
            _free.Writer.TryWrite(new RawFrame(GC.AllocateUninitializedArray<byte>(size.ByteCount, pinned: true)));
        _stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        PipeBuffer.TryEnlarge(ffmpeg.Output, size.ByteCount);
        // A dedicated thread with blocking reads: measurably cheaper than async pipe reads, which hop through the
        // thread pool for every 64 KB.
        _pump = Task.Factory.StartNew(() => Pump(_stop.Token), CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);
    }

    public static RawFrameReader Start(FfmpegTools tools, string path, FrameSize size, double rate, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(tools);
        var ffmpeg = ToolProcess.Start(tools.Ffmpeg, FfmpegDecodeArguments.For(path, size, rate), cancellationToken);
        return new RawFrameReader(ffmpeg, size, cancellationToken);
    }

    /// <summary>Frames in order; the sequence ends when ffmpeg closes its output.</summary>
    public IAsyncEnumerable<RawFrame> ReadAllAsync(CancellationToken cancellationToken) => _frames.Reader.ReadAllAsync(cancellationToken);

    public void Recycle(RawFrame frame) => _free.Writer.TryWrite(frame);

    /// <summary>Waits for ffmpeg to finish; returns its exit code and the tail of what it printed.</summary>
    public async Task<(int ExitCode, string Errors)> CompleteAsync(CancellationToken cancellationToken)
    {
        await _pump.ConfigureAwait(false);
        var exit = await _ffmpeg.WaitForExitAsync(cancellationToken).ConfigureAwait(false);
        return (exit, _ffmpeg.ErrorTail);
    }

    private void Pump(CancellationToken cancellationToken)
    {
        Exception? failure = null;
        try
        {
            var output = _ffmpeg.Output;
            for (long index = 0; ; index++)
            {
                var frame = _free.Reader.ReadAsync(cancellationToken).AsTask().GetAwaiter().GetResult();
                var read = output.ReadAtLeast(frame.Pixels, frame.Pixels.Length, throwOnEndOfStream: false);
                if (read < frame.Pixels.Length) break; // end of stream (a partial frame means ffmpeg stopped mid-frame)
                frame.Index = index;
                _frames.Writer.WriteAsync(frame, cancellationToken).AsTask().GetAwaiter().GetResult();
            }
        }
        catch (Exception e) when (e is OperationCanceledException or IOException or ObjectDisposedException)
        {
            failure = cancellationToken.IsCancellationRequested ? new OperationCanceledException(cancellationToken) : e;
        }
        finally
        {
            _frames.Writer.TryComplete(failure);
        }
    }

    /// <summary>Stops ffmpeg and the reading thread (a no-op when both already ended), then releases the process.
    /// Never throws: it runs while another exception may be on its way out.</summary>
    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync().ConfigureAwait(false);
        _ffmpeg.Kill(); // unblocks a read in progress: stdout reaches end of stream
        await _pump.ContinueWith(static _ => { }, CancellationToken.None, TaskContinuationOptions.None, TaskScheduler.Default)
            .ConfigureAwait(false);
        _ffmpeg.Dispose();
        _stop.Dispose();
    }
}
