using Concerto.Ingest.Core.Pipeline;
using Concerto.Ingest.Core.Profiles;
using Concerto.Ingest.Jobs.Ingest;
using Concerto.Ingest.Storage.Catalog;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace Concerto.Ingest.Server.Api;

/// <summary>A run with what it made: its stages (state, progress, timings, failure), the paths its video came from and its
/// live segments.</summary>
public sealed record RunDetail(RunSummary Run, IReadOnlyList<string> Paths, IReadOnlyList<SegmentSummary> Segments);

/// <summary>What a retry submitted: a new batch for the run's video, in which succeeded stages are skipped.</summary>
public sealed record RetryResult(long BatchId, string Path);

/// <summary>/api/runs and /api/batches: the pipeline's runs (one per video and profile), their stages and batches.</summary>
public static class RunEndpoints
{
    public static void MapRunApi(this IEndpointRouteBuilder app)
    {
        var api = app.MapGroup("/api").WithTags("runs");
        api.MapGet("/runs", async (StatusQueries q, int? limit, DateTime? updatedAfter, CancellationToken ct) =>
                TypedResults.Ok(await q.RunsAsync(Math.Clamp(limit ?? 100, 1, 5000), updatedAfter?.ToUniversalTime(), null, ct).ConfigureAwait(false)))
            .WithSummary("Recent runs, newest first, with each stage's state, progress, timings and failure reason.")
            .WithDescription("`limit` (default 100, at most 5000); `updatedAfter` (ISO time) keeps only runs changed since then.");
        api.MapGet("/runs/{id:long}", async Task<IResult> (StatusQueries q, SegmentQueries segments, IngestCatalog catalog, long id, CancellationToken ct) =>
            {
                var run = (await q.RunsAsync(1, null, id, ct).ConfigureAwait(false)).SingleOrDefault();
                if (run is null) return NotFound($"run {id} does not exist");
                return TypedResults.Ok(new RunDetail(run, await catalog.GetRunPathsAsync(id, ct).ConfigureAwait(false),
                    await segments.ForRunAsync(id, ct).ConfigureAwait(false)));
            })
            .WithSummary("One run: stages, source paths and live segments.")
            .Produces<RunDetail>();
        api.MapPost("/runs/{id:long}/retry", RetryAsync)
            .WithSummary("Retries a run whose stage failed: submits its video again in a new batch (succeeded stages are skipped).")
            .WithDescription($"Needs the header `{Csrf.Header}` (any value), which cross-site forms cannot send. 409 when no stage failed or the video file is gone.")
            .AddEndpointFilter(Csrf.Filter)
            .Produces<RetryResult>(StatusCodes.Status202Accepted);
        api.MapGet("/batches/{id:long}", async (StatusQueries q, long id, CancellationToken ct) =>
                TypedResults.Ok(await q.BatchProgressAsync(id, ct).ConfigureAwait(false)))
            .WithSummary("The sources of one ingest batch and their progress.");
        api.MapGet("/rejects", async (StatusQueries q, int? limit, CancellationToken ct) =>
                TypedResults.Ok((await q.RecentRejectsAsync(Math.Clamp(limit ?? 50, 1, 1000), ct).ConfigureAwait(false))
                    .Select(r => new { r.SourceId, r.Path, r.Error, r.At })))
            .WithSummary("Inputs rejected as bad (not video, corrupt...) or failed before they had a run, newest first.");
    }

    private static async Task<IResult> RetryAsync(StatusQueries q, IngestCatalog catalog, IngestSubmitter submitter, long id, CancellationToken ct)
    {
        var run = (await q.RunsAsync(1, null, id, ct).ConfigureAwait(false)).SingleOrDefault();
        if (run is null) return NotFound($"run {id} does not exist");
        if (!run.Stages.Any(s => s.State == StageState.Failed))
            return Conflict($"run {id} has no failed stage to retry");
        var path = (await catalog.GetRunPathsAsync(id, ct).ConfigureAwait(false)).FirstOrDefault(File.Exists);
        if (path is null) return Conflict($"run {id}'s video is no longer at {run.Path}: ingest it again from where it is now");
        var profile = ProfileDocument.Parse(await catalog.GetProfileJsonAsync(run.ProfileHash, ct).ConfigureAwait(false), $"profile {run.ProfileName}");
        var submission = await submitter.SubmitAsync([path], profile, force: false, ct).ConfigureAwait(false);
        return TypedResults.Accepted($"/api/batches/{submission.BatchId}", new RetryResult(submission.BatchId, path));
    }

    internal static IResult NotFound(string message) => TypedResults.Problem(message, statusCode: StatusCodes.Status404NotFound);

    internal static IResult Conflict(string message) => TypedResults.Problem(message, statusCode: StatusCodes.Status409Conflict);
}
