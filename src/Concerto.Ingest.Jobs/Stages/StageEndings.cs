using Concerto.Ingest.Core.Pipeline;
using Concerto.Ingest.Storage.Artifacts;
using Concerto.Ingest.Storage.Catalog;

namespace Concerto.Ingest.Jobs.Stages;

/// <summary>How a run stage (decode, reconstruct, segment, featurize) ends: a failure recorded on the stage and its source, or, after its
/// commit, the previous outputs removed as housekeeping that can never fail the stage.</summary>
internal static class StageEndings
{
    /// <summary>Records an error on the stage and the source; <paramref name="sourceState"/> retrying means Hangfire
    /// will try again, rejected (bad input) and failed are final.</summary>
    public static async Task FailAsync(IngestCatalog catalog, StageLedger ledger, string stage, long sourceId, long runId, string jobId,
        string error, string sourceState)
    {
        await ledger.FailAsync(runId, stage, jobId, error, sourceState != SourceState.Retrying, CancellationToken.None).ConfigureAwait(false);
        await catalog.FailSourceAsync(sourceId, sourceState, error, CancellationToken.None).ConfigureAwait(false);
    }

    /// <summary>Deletes the outputs a commit replaced; a failure is only reported (the new outputs are committed).</summary>
    public static void DeletePrevious(FolderArtifactStore artifacts, string? previous, Action<string, string> reportFailure)
    {
        if (previous is null) return;
        try
        {
            artifacts.Delete(previous);
        }
        catch (IOException e)
        {
            reportFailure(previous, e.Message);
        }
    }
}
