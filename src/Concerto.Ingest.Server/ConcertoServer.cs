using Concerto.Ingest.Core.Pipeline;
using Concerto.Ingest.Jobs.Hosting;
using Concerto.Ingest.Server.Access;
using Concerto.Ingest.Server.Api;
using Concerto.Ingest.Server.Pages;
using Concerto.Ingest.Storage;
using Concerto.Ingest.Storage.Catalog;
using Hangfire;
using Hangfire.Dashboard;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;

namespace Concerto.Ingest.Server;

/// <summary>`concerto serve`: the dashboard pages (/), the JSON API (/api/..., described at /openapi/v1.json), the
/// Hangfire dashboard (/hangfire) and a Hangfire server working every stage queue, all behind <see cref="AccessGuard"/>.</summary>
public static class ConcertoServer
{
    public static WebApplication Build(string[] args, string connectionString, StorageOptions storage, MediaOptions media,
        ReconstructionOptions reconstruction, int workers, FeatureOptions? features = null, ServerAccessOptions? access = null,
        Action<IServiceCollection>? configureServices = null, WorkerOptions? workerOptions = null)
    {
        access ??= new ServerAccessOptions();
        access.Validate();
        var builder = WebApplication.CreateBuilder(args);
        builder.Services
            .AddConcertoPipeline(connectionString, storage, media, reconstruction, features, workerOptions)
            .AddConcertoHangfire(connectionString, workerOptions)
            .AddConcertoWorkers(Stage.All, workers, $"serve:{Jobs.Stages.StageRetry.WorkerName}");
        builder.Services.AddSingleton(access);
        builder.Services.AddSingleton<SegmentQueries>();
        builder.Services.AddOpenApi();
        configureServices?.Invoke(builder.Services);

        var app = builder.Build();
        app.UseMiddleware<AccessGuard>();
        // AccessGuard has already decided; Hangfire's own default would refuse every remote request, credentials or not.
        app.UseHangfireDashboard("/hangfire", new DashboardOptions { DashboardTitle = "Concerto.Ingest jobs", Authorization = [new GuardedDashboard()] });
        app.MapOpenApi();
        app.MapDashboardPages();
        app.MapRunApi();
        app.MapDatasetApi();
        app.MapSegmentApi();
        app.MapTrainingApi();
        app.MapLiveEvents();
        return app;
    }

    private sealed class GuardedDashboard : IDashboardAuthorizationFilter
    {
        public bool Authorize(DashboardContext context) => true;
    }
}
