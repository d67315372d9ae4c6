namespace Concerto.Ingest.Core.Media;

/// <summary>The input itself is unusable (not a video, truncated, missing...). Retrying will not help, so stages
/// record the reason and fail the run instead of throwing into the job system's retry loop.</summary>
public sealed class BadInputException(string message, Exception? inner = null) : Exception(message, inner);
