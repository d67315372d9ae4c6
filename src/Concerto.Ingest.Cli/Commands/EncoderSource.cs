using Concerto.Ingest.Train.Interop;
using Concerto.Ingest.Train.Model;
using Concerto.Ingest.Train.Pretraining;
using Concerto.Ingest.Train.Profiles;

namespace Concerto.Ingest.Cli.Commands;

/// <summary>The encoder a command works on (`probe`, `export checkpoint`): a run folder or checkpoints/step-* folder of
/// `concerto train` (its student, or its EMA teacher), a .pth in the official PT-v3m2 layout, or a random encoder of a
/// profile's size. Disposing it frees the encoder (and the trained model that owns it).</summary>
internal sealed class EncoderSource : IDisposable
{
    private readonly IDisposable _owner;

    private EncoderSource(PointTransformerV3 encoder, IDisposable owner, string description, double gridSize) =>
        (Encoder, _owner, Description, GridSize) = (encoder, owner, description, gridSize);

    public PointTransformerV3 Encoder { get; }

    /// <summary>"student of RUN at step N", "Tiny encoder of FILE (PT-v3m2 state dict)", "random Tiny encoder (seed 1)".</summary>
    public string Description { get; }

    /// <summary>The voxel side the encoder sees: its run's, else the profile's.</summary>
    public double GridSize { get; }

    /// <param name="source">Run folder, step folder or .pth file; null for a random encoder.</param>
    /// <param name="profilePath">Profile for a random encoder's size and for the grid of a .pth.</param>
    public static EncoderSource Open(string? source, bool teacher, string profilePath, int seed)
    {
        if (source is not null && !File.Exists(source))
        {
            var (model, trained, step) = TrainedEncoder.Load(source, teacher);
            return new EncoderSource(trained, model, $"{(teacher ? "EMA teacher" : "student")} of {source} at step {step}", model.Profile.Data.GridSize);
        }

        var (profile, _, _) = TrainingProfile.Load(TrainCommand.ResolveProfile(profilePath));
#pragma warning disable CA2000 // owned by the returned source
        if (source is not null)
        {
            var loaded = PointceptCheckpoint.Open(source);
            return new EncoderSource(loaded, loaded, $"{loaded.Config.Name} encoder of {source} (PT-v3m2 state dict)", profile.Data.GridSize);
        }

        TorchSharp.torch.manual_seed(seed);
        var random = new PointTransformerV3("encoder", profile.Encoder);
#pragma warning restore CA2000
        return new EncoderSource(random, random, $"random {profile.Encoder.Name} encoder (seed {seed})", profile.Data.GridSize);
    }

    public void Dispose() => _owner.Dispose();
}
