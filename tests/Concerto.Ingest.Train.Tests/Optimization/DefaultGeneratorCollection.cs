namespace Concerto.Ingest.Train.Tests.Optimization;

/// <summary>Tests that seed or draw from TorchSharp's process-wide default generator and need its exact sequence
/// (initialisation, dropout, RNG state) run alone, after the parallel tests.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class DefaultGeneratorCollection
{
    public const string Name = "TorchSharp default generator";
}
