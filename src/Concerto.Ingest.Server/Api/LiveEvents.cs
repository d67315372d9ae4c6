using System.Net.ServerSentEvents;
using System.Runtime.CompilerServices;
using System.Text.Json;
using Concerto.Ingest.Storage.Catalog;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace Concerto.Ingest.Server.Api;

/// <summary>/api/events: server-sent events that push what changed, so pages update without reloading. Every second
/// the catalogue is asked for runs and training runs updated since the last look; each change goes out as an event
/// `runs` (RunSummary[]) or `training` (TrainingRunRow[]).</summary>
public static class LiveEvents
{
    public static readonly TimeSpan Interval = TimeSpan.FromSeconds(1);

    public static void MapLiveEvents(this IEndpointRouteBuilder app) =>
        app.MapGet("/api/events", (StatusQueries runs, TrainingRunStore training, DateTime? since, CancellationToken ct) =>
                TypedResults.ServerSentEvents(StreamAsync(runs, training, since?.ToUniversalTime() ?? DateTime.UtcNow, ct)))
            .WithTags("live")
            .WithSummary("Server-sent events: `runs` and `training` carry the rows changed since `since` (ISO time; default now), checked every second.");

    private static async IAsyncEnumerable<SseItem<string>> StreamAsync(StatusQueries runs, TrainingRunStore training, DateTime since,
        [EnumeratorCancellation] CancellationToken ct)
    {
        var (runsCursor, trainingCursor) = (since, since);
        using var timer = new PeriodicTimer(Interval);
        yield return new SseItem<string>("{}", "hello"); // lets the page know the stream is up
        while (await Tick(timer, ct).ConfigureAwait(false))
        {
            var changed = await runs.RunsAsync(500, runsCursor, null, ct).ConfigureAwait(false);
            if (changed.Count > 0)
            {
                runsCursor = changed.Max(r => r.UpdatedAt);
                yield return new SseItem<string>(JsonSerializer.Serialize(changed, JsonSerializerOptions.Web), "runs");
            }

            var cursor = trainingCursor;
            var trained = (await training.ListAsync(50, ct).ConfigureAwait(false)).Where(t => t.UpdatedAt > cursor).ToList();
            if (trained.Count > 0)
            {
                trainingCursor = trained.Max(t => t.UpdatedAt);
                yield return new SseItem<string>(JsonSerializer.Serialize(trained, JsonSerializerOptions.Web), "training");
            }
        }
    }

    /// <summary>The next tick, or false once the client has gone.</summary>
    private static async ValueTask<bool> Tick(PeriodicTimer timer, CancellationToken ct)
    {
        try
        {
            return await timer.WaitForNextTickAsync(ct).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }
}
