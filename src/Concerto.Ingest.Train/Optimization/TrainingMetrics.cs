using System.Globalization;
using System.Text;

namespace Concerto.Ingest.Train.Optimization;

/// <summary>One optimizer update's metrics.</summary>
/// <param name="Step">The update (0-based).</param>
/// <param name="Epoch">The epoch it belongs to.</param>
/// <param name="Seconds">Wall time since the run (first) started.</param>
/// <param name="LearningRate">Base learning rate (before layer scales).</param>
/// <param name="WeightDecay">Weight decay of the decayed groups.</param>
/// <param name="Values">Everything else by name: loss components, gradient norm, points/s, loader wait, ...</param>
public sealed record TrainingMetrics(
    long Step,
    int Epoch,
    double Seconds,
    double LearningRate,
    double WeightDecay,
    IReadOnlyDictionary<string, double> Values);

/// <summary>Where per-step metrics go (CSV here, PostgreSQL elsewhere).</summary>
public interface ITrainingMetricsSink
{
    ValueTask WriteAsync(TrainingMetrics row, CancellationToken ct);
}

/// <summary>Per-step metrics as CSV: <c>step,epoch,seconds,lr,wd</c>, then one column per value name in order of first
/// appearance. Opening an existing file for a resume at step s keeps its header and its rows with step &lt; s (and drops a
/// torn last line), so a resumed run neither repeats the header nor duplicates steps. A value name first seen later adds
/// a column (the file is rewritten once, earlier rows get empty cells); a missing value is an empty cell. Each row is
/// flushed. Writes are serialised; one writer per file.</summary>
public sealed class MetricsCsvWriter : ITrainingMetricsSink, IAsyncDisposable, IDisposable
{
    private static readonly string[] Fixed = ["step", "epoch", "seconds", "lr", "wd"];
    private readonly string _path;
    private readonly List<string> _columns;
    private readonly SemaphoreSlim _gate = new(1, 1);
    private StreamWriter _writer;

    private MetricsCsvWriter(string path, List<string> columns, StreamWriter writer)
    {
        _path = path;
        _columns = columns;
        _writer = writer;
    }

    /// <summary>The value columns, in file order.</summary>
    public IReadOnlyList<string> ValueColumns => _columns;

    /// <summary>Opens <paramref name="path"/> for a run that continues with update <paramref name="resumeStep"/> (0 for a
    /// new run, which also empties an existing file).</summary>
    public static async Task<MetricsCsvWriter> OpenAsync(string path, long resumeStep, CancellationToken ct)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        ArgumentOutOfRangeException.ThrowIfNegative(resumeStep);
        path = Path.GetFullPath(path);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);

        var columns = new List<string>();
        var kept = new List<string>();
        if (File.Exists(path) && resumeStep > 0)
        {
            var lines = await File.ReadAllLinesAsync(path, ct);
            if (lines.Length > 0)
            {
                var header = lines[0].Split(',');
                if (header.Length < Fixed.Length || !header.Take(Fixed.Length).SequenceEqual(Fixed))
                    throw new InvalidDataException($"'{path}' is not a metrics CSV (header '{lines[0]}'); move it away or pick another path.");
                columns.AddRange(header.Skip(Fixed.Length));
                kept.AddRange(lines.Skip(1).Where(l => KeepRow(l, header.Length, resumeStep)));
            }
        }

        // Rewrite through a temporary file so a crash here never loses the rows being kept.
        var temp = path + ".tmp";
        await File.WriteAllTextAsync(temp, columns.Count > 0 || kept.Count > 0 ? Csv(columns, kept) : "", ct);
        File.Move(temp, path, overwrite: true);
        var writer = new StreamWriter(new FileStream(path, FileMode.Append, FileAccess.Write, FileShare.Read), new UTF8Encoding(false));
        return new MetricsCsvWriter(path, columns, writer);
    }

    public async ValueTask WriteAsync(TrainingMetrics row, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(row);
        await _gate.WaitAsync(ct);
        try
        {
            var added = row.Values.Keys.Where(k => !_columns.Contains(k)).ToArray();
            foreach (var name in added)
            {
                if (name.IndexOfAny([',', '"', '\n', '\r']) >= 0)
                    throw new ArgumentException($"Metric name '{name}' may not hold commas, quotes or line breaks.", nameof(row));
            }

            var empty = _writer.BaseStream.Length == 0;
            if (added.Length > 0 && !empty)
            {
                await _writer.DisposeAsync();
                var lines = await File.ReadAllLinesAsync(_path, ct);
                _columns.AddRange(added);
                var padding = new string(',', added.Length);
                var temp = _path + ".tmp";
                await File.WriteAllTextAsync(temp, Csv(_columns, lines.Skip(1).Select(l => l + padding)), ct);
                File.Move(temp, _path, overwrite: true);
                _writer = new StreamWriter(new FileStream(_path, FileMode.Append, FileAccess.Write, FileShare.Read), new UTF8Encoding(false));
            }
            else if (empty)
            {
                _columns.AddRange(added);
                await _writer.WriteAsync(Csv(_columns, []).AsMemory(), ct);
            }

            await _writer.WriteAsync(Line(row).AsMemory(), ct);
            await _writer.WriteAsync("\n".AsMemory(), ct);
            await _writer.FlushAsync(ct);
        }
        finally
        {
            _gate.Release();
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _writer.DisposeAsync();
        _gate.Dispose();
    }

    public void Dispose()
    {
        _writer.Dispose();
        _gate.Dispose();
    }

    private string Line(TrainingMetrics row)
    {
        var cells = new List<string>(Fixed.Length + _columns.Count)
        {
            row.Step.ToString(CultureInfo.InvariantCulture),
            row.Epoch.ToString(CultureInfo.InvariantCulture),
            Number(row.Seconds),
            Number(row.LearningRate),
            Number(row.WeightDecay),
        };
        cells.AddRange(_columns.Select(c => row.Values.TryGetValue(c, out var v) ? Number(v) : ""));
        return string.Join(',', cells);
    }

    private static string Number(double value) => value.ToString("R", CultureInfo.InvariantCulture);

    private static string Csv(IEnumerable<string> columns, IEnumerable<string> rows)
    {
        var text = new StringBuilder();
        text.Append(string.Join(',', Fixed.Concat(columns))).Append('\n');
        foreach (var row in rows) text.Append(row).Append('\n');
        return text.ToString();
    }

    /// <summary>A complete row (all cells, a parseable step) from before the resume step.</summary>
    private static bool KeepRow(string line, int cells, long resumeStep)
    {
        var parts = line.Split(',');
        return parts.Length == cells
            && long.TryParse(parts[0], NumberStyles.Integer, CultureInfo.InvariantCulture, out var step)
            && step < resumeStep;
    }
}
