using Hangfire.Server;

namespace Concerto.Ingest.Jobs.Stages;

/// <summary>Retry policy shared by the stage jobs. Transient failures (database gone, disk full) are thrown to
/// Hangfire, which retries with these delays; bad input is recorded as a failure and never retried.</summary>
public static class StageRetry
{
    /// <summary>Retries after the first attempt; the jobs' attributes wait 5, 30 and 120 s between them.</summary>
    public const int Attempts = 3;

    /// <summary>True when the attempt now running is the last Hangfire will make.</summary>
    public static bool IsLastAttempt(PerformContext? context) =>
        context is null || context.GetJobParameter<int>("RetryCount") >= Attempts;

    public static string JobId(PerformContext? context) => context?.BackgroundJob.Id ?? "inline-" + Guid.NewGuid().ToString("N");

    public static string WorkerName { get; } = $"{Environment.MachineName}:{Environment.ProcessId}";
}
