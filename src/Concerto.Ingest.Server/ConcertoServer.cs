using Concerto.Ingest.Core.Pipeline;
using Concerto.Ingest.Jobs.Hosting;
using Concerto.Ingest.Server.Access;
using Concerto.Ingest.Server.Api;
using Concerto.Ingest.Server.Pages;
using Concerto.Ingest.Storage.Catalog;
using Hangfire;
using Hangfire.Dashboard;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;

namespace Concerto.Ingest.Server;

/// <summary>The queues a server process works beside serving (default every stage queue), with how many worker
/// threads.</summary>
public sealed record ServerWork(IReadOnlyList<string> Queues, int Workers)
{
    public static ServerWork AllStages(int workers) => new(Stage.All, workers);
}

/// <summary>`concerto serve`: the dashboard pages (/), the JSON API (/api/..., described at /openapi/v1.json), the
/// Hangfire dashboard (/hangfire) and a Hangfire server working every stage queue (or the given ones), all behind
/// <see cref="AccessGuard"/>.</summary>
public static class ConcertoServer
{
    /// <param name="args">ASP.NET Core's own arguments (--urls, logging levels).</param>
    /// <param name="connectionString">The pipeline's database.</param>
    /// <param name="settings">The pipeline's settings, validated before anything starts.</param>
    /// <param name="work">The queues this process works beside serving, and with how many threads.</param>
    /// <param name="access">Who may use the server; null: this machine only.</param>
    /// <param name="configureServices">More services (tests, benchmarks).</param>
    public static WebApplication Build(string[] args, string connectionString, PipelineSettings settings, ServerWork work,
        ServerAccessOptions? access = null, Action<IServiceCollection>? configureServices = null)
    {
        ArgumentNullException.ThrowIfNull(settings);
        ArgumentNullException.ThrowIfNull(work);
        access ??= new ServerAccessOptions();
        access.Validate();
        var builder = WebApplication.CreateBuilder(args);
        builder.Services
            .AddConcertoPipeline(connectionString, settings)
            .AddConcertoHangfire(connectionString, settings.Workers)
            .AddConcertoWorkers(work.Queues, work.Workers, $"serve:{Jobs.Stages.StageRetry.WorkerName}");
        builder.Services.AddSingleton(access);
        builder.Services.AddSingleton<SegmentQueries>();
        builder.Services.AddOpenApi();
        // Errors as JSON problem details: a bad route value or query parameter (400), an unknown path (404) and an
        // unexpected failure (500, without internals) all get a body a client can show.
        builder.Services.AddProblemDetails(o => o.CustomizeProblemDetails = c => c.ProblemDetails.Detail ??= c.ProblemDetails.Status switch
        {
            StatusCodes.Status400BadRequest => "a route value or query parameter could not be read as its type (each route's parameters: /openapi/v1.json)",
            StatusCodes.Status403Forbidden => "refused: a dashboard command needs the page's anti-forgery token (reload the page and try again)",
            StatusCodes.Status404NotFound => "no such page or API route (the routes: /openapi/v1.json)",
            StatusCodes.Status405MethodNotAllowed => "this route does not take this HTTP method (the routes: /openapi/v1.json)",
            StatusCodes.Status500InternalServerError => "the server failed while handling this request; its log has the details",
            _ => null,
        });
        // Hangfire's dashboard checks an anti-forgery token on its POST commands (delete, requeue, trigger) when this
        // service exists; without it a page on another site could post them through a local browser.
        builder.Services.AddAntiforgery();
        configureServices?.Invoke(builder.Services);

        var app = builder.Build();
        app.UseExceptionHandler();
        app.UseStatusCodePages();
        app.UseMiddleware<AccessGuard>();
        // AccessGuard has already decided; Hangfire's own default would refuse every remote request, credentials or not.
        app.UseHangfireDashboard("/hangfire", new DashboardOptions { DashboardTitle = "Concerto.Ingest jobs", Authorization = [new GuardedDashboard()] });
        app.MapOpenApi("/openapi/v1.json"); // the one document; other names fall through to the 404 problem
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
