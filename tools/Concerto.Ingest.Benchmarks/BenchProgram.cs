namespace Concerto.Ingest.Benchmarks;

/// <summary>This program's own name, for benchmarks that measure a stage in a fresh child process of it.</summary>
internal static class BenchProgram
{
    public const string Name = "concerto-bench";
}
