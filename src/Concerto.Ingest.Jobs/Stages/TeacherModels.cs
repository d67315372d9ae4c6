using System.Text.Json;
using Concerto.Ingest.Core.Profiles;
using Concerto.Ingest.Features;
using Concerto.Ingest.Features.Teacher;
using Concerto.Ingest.Reconstruction.Onnx;
using Microsoft.Extensions.Logging;

namespace Concerto.Ingest.Jobs.Stages;

/// <summary>The featurize stage's teacher models, opened once per process (<see cref="OpenModels{TModel}"/>): the
/// profile's featurize.modelPath, else Concerto:Features:TeacherModel.</summary>
public sealed class TeacherModels(FeatureOptions options, ILogger<TeacherModels> logger) : IDisposable
{
    private readonly OpenModels<TeacherModel> _open = new();

    /// <summary>The model for these settings, or null when neither the profile nor the configuration names one.</summary>
    public TeacherModel? Get(FeaturizeSettings settings)
    {
        ArgumentNullException.ThrowIfNull(settings);
        var path = string.IsNullOrWhiteSpace(settings.ModelPath) ? options.TeacherModel : settings.ModelPath;
        if (string.IsNullOrWhiteSpace(path)) return null;
        return _open.Get(path, JsonSerializer.Serialize(settings), full => TeacherModel.Open(settings, full, OnnxModelFile.ParseDevice(options.Device), logger));
    }

    public void Dispose() => _open.Dispose();
}
