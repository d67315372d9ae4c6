using Concerto.Ingest.Core.Pipeline;
using Concerto.Ingest.Jobs.Hosting;
using Concerto.Ingest.Storage;
using Concerto.Ingest.Storage.Catalog;
using Hangfire;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;

namespace Concerto.Ingest.Server;

/// <summary>`concerto serve`: the Hangfire dashboard at /hangfire, a Hangfire server working every stage queue, and a
/// small JSON API (/api/runs, /api/batches/{id}) over the catalogue.</summary>
public static class ConcertoServer
{
    public static WebApplication Build(string[] args, string connectionString, StorageOptions storage, MediaOptions media,
        ReconstructionOptions reconstruction, int workers, FeatureOptions? features = null)
    {
        var builder = WebApplication.CreateBuilder(args);
        builder.Services
            .AddConcertoPipeline(connectionString, storage, media, reconstruction, features)
            .AddConcertoHangfire(connectionString)
            .AddConcertoWorkers(Stage.All, workers, $"serve:{Jobs.Stages.StageRetry.WorkerName}");

        var app = builder.Build();
        app.UseMiddleware<LocalOnlyMiddleware>();
        app.UseHangfireDashboard("/hangfire", new DashboardOptions { DashboardTitle = "Concerto.Ingest jobs" });
        app.MapGet("/", () => Results.Redirect("/hangfire"));
        app.MapGet("/api/runs", async (StatusQueries q, int? limit, CancellationToken ct) =>
            Results.Ok(await q.RecentRunsAsync(Math.Clamp(limit ?? 100, 1, 1000), ct).ConfigureAwait(false)));
        app.MapGet("/api/batches/{id:long}", async (StatusQueries q, long id, CancellationToken ct) =>
            Results.Ok(await q.BatchProgressAsync(id, ct).ConfigureAwait(false)));
        return app;
    }
}
