namespace Concerto.Ingest.Core.Pipeline;

/// <summary>Pipeline stages. Each runs as its own job on a queue of the same name, so workers can be pointed at
/// some stages only (e.g. GPU machines at reconstruct).</summary>
public static class Stage
{
    public const string Probe = "probe";
    public const string Decode = "decode";

    /// <summary>Every stage queue, in pipeline order.</summary>
    public static IReadOnlyList<string> All { get; } = [Probe, Decode];
}

/// <summary>States a stage (or a run) goes through; stored as text.</summary>
public static class StageState
{
    public const string Pending = "pending";
    public const string Queued = "queued";
    public const string Running = "running";
    public const string Retrying = "retrying";
    public const string Succeeded = "succeeded";
    public const string Failed = "failed";
    public const string Skipped = "skipped";

    public static bool IsTerminal(string state) => state is Succeeded or Failed or Skipped;
}
