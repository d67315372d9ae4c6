using Concerto.Ingest.Storage.Catalog;

namespace Concerto.Ingest.Storage.Tests.Catalog;

/// <summary>The claim call most tests make: a one-minute lease, true when claimed.</summary>
internal static class LedgerClaims
{
    public static readonly TimeSpan Lease = TimeSpan.FromMinutes(1);

    public static async Task<bool> ClaimsAsync(this StageLedger ledger, long runId, string stage, string claim, long batchId, bool force, string worker,
        CancellationToken cancellationToken) =>
        (await ledger.TryClaimAsync(runId, stage, claim, batchId, force, worker, Lease, cancellationToken)).Outcome == ClaimOutcome.Claimed;
}
