namespace Concerto.Ingest.Core.Pipeline;

/// <summary>Pipeline stages. Each runs as its own job on a queue of the same name, so workers can be pointed at
/// some stages only (e.g. GPU machines at reconstruct).</summary>
public static class Stage
{
    public const string Probe = "probe";
    public const string Decode = "decode";

    /// <summary>Keyframes to cameras, depth and a fused scene cloud; the GPU queue when a VGGT model runs.</summary>
    public const string Reconstruct = "reconstruct";

    /// <summary>The scene cut into training segments (1 point cloud + 4 images with correspondences), indexed.</summary>
    public const string Segment = "segment";

    /// <summary>Frozen image-teacher (DINOv2) patch features per segment image; a GPU queue like reconstruct.</summary>
    public const string Featurize = "featurize";

    /// <summary>Every stage queue, in pipeline order.</summary>
    public static IReadOnlyList<string> All { get; } = [Probe, Decode, Reconstruct, Segment, Featurize];

    /// <summary>The stage whose end is the end of a source's pipeline.</summary>
    public static string Last => All[^1];
}

/// <summary>States of a run's stage (table run_stages); stored as text.</summary>
public static class StageState
{
    public const string Pending = "pending";
    public const string Running = "running";
    public const string Retrying = "retrying";
    public const string Succeeded = "succeeded";
    public const string Failed = "failed";
}

/// <summary>States of a source (one path named in an ingest batch); stored as text.
/// queued -> running (probe) -> probed -> succeeded | failed | rejected | linked, with retrying while Hangfire retries.</summary>
public static class SourceState
{
    public const string Queued = "queued";
    public const string Running = "running";
    public const string Retrying = "retrying";
    public const string Probed = "probed";
    public const string Succeeded = "succeeded";

    /// <summary>Gave up after retries on an error that was not the input's fault; a retry from the dashboard runs again.</summary>
    public const string Failed = "failed";

    /// <summary>The input is not a usable video (bad input): final, with a one-line reason.</summary>
    public const string Rejected = "rejected";

    /// <summary>Its run's stage was another source's job: the same video named twice, or ingested before.</summary>
    public const string Linked = "linked";
}
