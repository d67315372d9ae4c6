namespace Concerto.Ingest.Reconstruction.Classic;

/// <summary>Settings of the `classic` reconstructor (placeholder for the stages that follow: structure from motion, then
/// multi-view stereo).</summary>
public sealed record ClassicSettings
{
    public static ClassicSettings Default { get; } = new();
}
