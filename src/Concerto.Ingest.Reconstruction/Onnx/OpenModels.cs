using System.Collections.Concurrent;

namespace Concerto.Ingest.Reconstruction.Onnx;

/// <summary>Models opened once per process and shared by every job in it: opening one hashes its weights (gigabytes for
/// VGGT-1B or a ViT-g teacher) and checks its signature, which should not be paid per run. A model file replaced on disk
/// (new size or time) is opened afresh; a file that fails to open is tried again next time. ONNX Runtime sessions may
/// run from several threads at once.</summary>
public sealed class OpenModels<TModel> : IDisposable where TModel : class, IDisposable
{
    private readonly ConcurrentDictionary<string, Lazy<TModel>> _open = new();

    /// <summary>The model at <paramref name="path"/> opened with settings described by <paramref name="settingsKey"/>,
    /// opening it with <paramref name="open"/> (given the full path) the first time.</summary>
    public TModel Get(string path, string settingsKey, Func<string, TModel> open)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        ArgumentNullException.ThrowIfNull(open);
        var full = Path.GetFullPath(path);
        var file = new FileInfo(full);
        var key = $"{full}|{(file.Exists ? file.Length : -1)}|{(file.Exists ? file.LastWriteTimeUtc.Ticks : 0)}|{settingsKey}";
        var entry = _open.GetOrAdd(key, _ => new Lazy<TModel>(() => open(full)));
        try
        {
            return entry.Value;
        }
        catch
        {
            _open.TryRemove(key, out _); // a bad model file is reported each time, and a fixed one is picked up
            throw;
        }
    }

    public void Dispose()
    {
        foreach (var entry in _open.Values.Where(e => e.IsValueCreated)) entry.Value.Dispose();
        _open.Clear();
    }
}
