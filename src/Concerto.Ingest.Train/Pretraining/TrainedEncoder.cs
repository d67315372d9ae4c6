using System.Text.Json;
using Concerto.Ingest.Train.Model;
using Concerto.Ingest.Train.Optimization;
using Concerto.Ingest.Train.Profiles;
using static TorchSharp.torch;

namespace Concerto.Ingest.Train.Pretraining;

/// <summary>Loads a pretrained encoder from a run folder (its latest checkpoint) or one checkpoint folder inside it.</summary>
public static class TrainedEncoder
{
    /// <summary>The student (the default: what the official downstream configs load) or EMA teacher encoder of the
    /// checkpoint; the caller disposes the returned model, which owns the encoder.</summary>
    public static (ConcertoModel Model, PointTransformerV3 Encoder, long Step) Load(string path, bool teacher = false)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        var full = Path.GetFullPath(path);
        var (runFolder, checkpoint) = File.Exists(Path.Combine(full, Checkpoint.MetadataFile))
            ? (Path.GetDirectoryName(Path.GetDirectoryName(full))!, full)
            : (full, Checkpoint.Latest(Path.Combine(full, ConcertoTrainer.CheckpointFolder))
                     ?? throw new FileNotFoundException($"{full} has no checkpoints; pass a run folder of `concerto train` or one of its checkpoints/step-* folders."));
        var profileFile = Path.Combine(runFolder, ConcertoTrainer.ProfileFile);
        var runFile = Path.Combine(runFolder, ConcertoTrainer.RunFile);
        if (!File.Exists(profileFile) || !File.Exists(runFile))
            throw new FileNotFoundException($"{runFolder} lacks {ConcertoTrainer.ProfileFile} or {ConcertoTrainer.RunFile}; is it a run folder of `concerto train`?");
        var (profile, _, _) = TrainingProfile.Parse(File.ReadAllText(profileFile), profileFile);
        var run = JsonSerializer.Deserialize<RunInfo>(File.ReadAllText(runFile))!;
        var model = new ConcertoModel("concerto", profile, run.TeacherFeatureWidth);
        try
        {
            var metadata = Checkpoint.Load(checkpoint, new Dictionary<string, nn.Module> { ["model"] = model }, null, restoreRngState: false);
            return (model, teacher ? model.Teacher.Encoder : model.Student.Encoder, metadata.Step);
        }
        catch
        {
            model.Dispose();
            throw;
        }
    }
}
