using System.Globalization;

namespace Concerto.Ingest.Cli.Tests.Reliability;

/// <summary>Watches the resident memory of some processes and of every process they start (ffprobe, ffmpeg), sampling
/// /proc every few milliseconds until disposed. The processes' own peaks come exactly from VmHWM (<see
/// cref="HighWaterMark"/>); their short-lived children can only be sampled, so <see cref="PeakChild"/> is a lower bound of
/// theirs.</summary>
public sealed class ProcessTreeMemory : IAsyncDisposable
{
    private readonly int[] _roots;
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _loop;
    private readonly object _gate = new();
    private (long Bytes, string Command) _peakChild = (0, "none");
    private int _childrenSeen;
    private readonly HashSet<int> _seen = [];

    public ProcessTreeMemory(params int[] roots)
    {
        _roots = roots;
        _loop = Task.Run(LoopAsync);
    }

    /// <summary>The largest resident size seen of any descendant, and its command name.</summary>
    public (long Bytes, string Command) PeakChild
    {
        get
        {
            lock (_gate) return _peakChild;
        }
    }

    /// <summary>How many distinct descendants were seen (so a test can tell the sampling saw the work at all).</summary>
    public int ChildrenSeen
    {
        get
        {
            lock (_gate) return _childrenSeen;
        }
    }

    /// <summary>Peak resident size of a live process (VmHWM), in bytes.</summary>
    public static long HighWaterMark(int pid) => StatusKilobytes(pid, "VmHWM:") * 1024;

    private async Task LoopAsync()
    {
        using var timer = new PeriodicTimer(TimeSpan.FromMilliseconds(25));
        try
        {
            while (await timer.WaitForNextTickAsync(_stop.Token).ConfigureAwait(false))
                foreach (var root in _roots)
                    Sample(root);
        }
        catch (OperationCanceledException)
        {
            // disposed
        }
    }

    private void Sample(int root)
    {
        foreach (var child in Descendants(root))
        {
            try
            {
                var bytes = StatusKilobytes(child, "VmRSS:") * 1024;
                var command = File.ReadAllText($"/proc/{child}/comm").Trim();
                lock (_gate)
                {
                    if (_seen.Add(child)) _childrenSeen++;
                    if (bytes > _peakChild.Bytes) _peakChild = (bytes, command);
                }
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException)
            {
                // exited between listing and reading
            }
        }
    }

    /// <summary>Children of every thread of <paramref name="pid"/> (a child belongs to the thread that started it), and
    /// theirs.</summary>
    private static List<int> Descendants(int pid)
    {
        var found = new List<int>();
        var pending = new Stack<int>([pid]);
        while (pending.Count > 0)
        {
            var current = pending.Pop();
            try
            {
                foreach (var task in Directory.EnumerateDirectories($"/proc/{current}/task"))
                foreach (var text in File.ReadAllText(Path.Combine(task, "children")).Split(' ', StringSplitOptions.RemoveEmptyEntries))
                {
                    var child = int.Parse(text, CultureInfo.InvariantCulture);
                    found.Add(child);
                    pending.Push(child);
                }
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                // exited
            }
        }

        return found;
    }

    private static long StatusKilobytes(int pid, string field)
    {
        foreach (var line in File.ReadLines($"/proc/{pid}/status"))
            if (line.StartsWith(field, StringComparison.Ordinal))
                return long.Parse(line[field.Length..].Trim().Split(' ')[0], CultureInfo.InvariantCulture);
        throw new FormatException($"/proc/{pid}/status has no {field}");
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync().ConfigureAwait(false);
        await _loop.ConfigureAwait(false);
        _stop.Dispose();
    }
}
