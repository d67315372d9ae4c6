using Concerto.Ingest.Core.Profiles;
using Concerto.Ingest.Jobs.Stages;
using Concerto.Ingest.Storage.Catalog;
using Hangfire;

namespace Concerto.Ingest.Jobs.Ingest;

public sealed record IngestSubmission(long BatchId, IReadOnlyList<string> Paths);

/// <summary>Records a batch and enqueues each source's stages: probe, decode, reconstruct, each the continuation of the
/// one before (a failed job stops the chain; a rejected file is recorded, not failed, so later jobs see that and do
/// nothing).</summary>
public sealed class IngestSubmitter(IngestCatalog catalog, IBackgroundJobClient jobs)
{
    public async Task<IngestSubmission> SubmitAsync(IReadOnlyList<string> inputs, ProfileDocument profile, bool force,
        CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(profile);
        var paths = InputExpander.Expand(inputs);
        if (paths.Count == 0)
            throw new ArgumentException($"No video files found in: {string.Join(", ", inputs)}.", nameof(inputs));

        await catalog.EnsureProfileAsync(profile, cancellationToken).ConfigureAwait(false);
        var (batchId, sourceIds) = await catalog.CreateBatchAsync(profile.Hash, force, paths, cancellationToken).ConfigureAwait(false);
        foreach (var sourceId in sourceIds)
        {
            var probe = jobs.Enqueue<ProbeJob>(j => j.RunAsync(sourceId, null, CancellationToken.None));
            var decode = jobs.ContinueJobWith<DecodeJob>(probe, j => j.RunAsync(sourceId, null, CancellationToken.None));
            var reconstruct = jobs.ContinueJobWith<ReconstructJob>(decode, j => j.RunAsync(sourceId, null, CancellationToken.None));
            var segment = jobs.ContinueJobWith<SegmentJob>(reconstruct, j => j.RunAsync(sourceId, null, CancellationToken.None));
            jobs.ContinueJobWith<FeaturizeJob>(segment, j => j.RunAsync(sourceId, null, CancellationToken.None));
        }

        return new IngestSubmission(batchId, paths);
    }
}
