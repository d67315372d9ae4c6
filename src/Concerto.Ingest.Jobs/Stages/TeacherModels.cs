using System.Collections.Concurrent;
using Concerto.Ingest.Core.Profiles;
using Concerto.Ingest.Features.Teacher;
using Concerto.Ingest.Jobs.Hosting;
using Concerto.Ingest.Reconstruction.Onnx;
using Microsoft.Extensions.Logging;

namespace Concerto.Ingest.Jobs.Stages;

/// <summary>Teacher models opened once per process: opening hashes the weights (gigabytes for ViT-g) and runs a check
/// image, which should not be paid per run. A replaced model file (new size or time) is opened afresh. Sessions are
/// safe to run from several jobs at once.</summary>
public sealed class TeacherModels(FeatureOptions options, ILogger<TeacherModels> logger) : IDisposable
{
    private readonly ConcurrentDictionary<string, Lazy<TeacherModel>> _open = new();

    /// <summary>The model for these settings, or null when neither the profile nor the configuration names one.</summary>
    public TeacherModel? Get(FeaturizeSettings settings)
    {
        ArgumentNullException.ThrowIfNull(settings);
        var path = string.IsNullOrWhiteSpace(settings.ModelPath) ? options.TeacherModel : settings.ModelPath;
        if (string.IsNullOrWhiteSpace(path)) return null;
        var full = Path.GetFullPath(path);
        var file = new FileInfo(full);
        var key = $"{full}|{(file.Exists ? file.Length : -1)}|{(file.Exists ? file.LastWriteTimeUtc.Ticks : 0)}|{System.Text.Json.JsonSerializer.Serialize(settings)}";
        var entry = _open.GetOrAdd(key, _ => new Lazy<TeacherModel>(() =>
            TeacherModel.Open(settings, full, OnnxModelFile.ParseDevice(options.Device), logger)));
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
