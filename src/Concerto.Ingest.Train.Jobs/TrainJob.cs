using Hangfire;
using Hangfire.Server;

namespace Concerto.Ingest.Train.Jobs;

/// <summary>Pretraining as a Hangfire job on the "train" queue (`concerto train --queue`; work it with
/// `concerto worker --queues train` on the training machine). A retried job resumes from the run's latest checkpoint.</summary>
public sealed class TrainJob(TrainingService training)
{
    public const string Queue = "train";

    [Queue(Queue)]
    [AutomaticRetry(Attempts = 2, DelaysInSeconds = [30, 300])]
    public async Task RunAsync(TrainRequest request, PerformContext? context, CancellationToken cancellationToken) =>
        await training.TrainAsync(request, context?.BackgroundJob.Id, null, cancellationToken).ConfigureAwait(false);
}
