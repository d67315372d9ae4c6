using Concerto.Ingest.Storage.Catalog;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace Concerto.Ingest.Server.Api;

public sealed record TrainingRunDetail(TrainingRunRow Run, IReadOnlyList<TrainingMetricRow> Metrics);

/// <summary>/api/training: pretraining and probe runs with their per-step metrics (loss curves).</summary>
public static class TrainingEndpoints
{
    public static void MapTrainingApi(this IEndpointRouteBuilder app)
    {
        var api = app.MapGroup("/api/training").WithTags("training");
        api.MapGet("/", async (TrainingRunStore store, int? limit, CancellationToken ct) =>
                TypedResults.Ok(await store.ListAsync(Math.Clamp(limit ?? 100, 1, 1000), ct).ConfigureAwait(false)))
            .WithSummary("Training runs, newest first: kind, dataset, model size, step of total, state, results.");
        api.MapGet("/{id:long}", async Task<IResult> (TrainingRunStore store, long id, CancellationToken ct) =>
            {
                var run = await store.GetAsync(id, ct).ConfigureAwait(false);
                return run is null
                    ? RunEndpoints.NotFound($"training run {id} does not exist")
                    : TypedResults.Ok(new TrainingRunDetail(run, await store.MetricsAsync(id, ct).ConfigureAwait(false)));
            })
            .WithSummary("One training run with every recorded step's metrics (losses, learning rate, throughput...).")
            .Produces<TrainingRunDetail>();
    }
}
