using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Concerto.Ingest.Core.Datasets;
using Concerto.Ingest.Formats.Arrays;
using Concerto.Ingest.Storage.Catalog;
using Microsoft.Extensions.DependencyInjection;

namespace Concerto.Ingest.Server.Tests;

/// <summary>The JSON API over a real ingest: the served app works the stage queues, a synthetic capture goes through
/// every stage, and the routes must describe what the pipeline made, byte for byte where they serve files.</summary>
public sealed class ServerApiTests : IAsyncLifetime
{
    private ServedPipeline _served = null!;
    private HttpClient _http = null!;

    public async Task InitializeAsync()
    {
        _served = await ServedPipeline.StartAsync();
        _http = _served.Client();
    }

    public async Task DisposeAsync()
    {
        _http.Dispose();
        await _served.DisposeAsync();
    }

    [Fact]
    public async Task Api_DescribesARunItsSegmentsAndDatasets()
    {
        var submission = await _served.SubmitAsync(await _served.CaptureAsync(seed: 6));
        Assert.True(Assert.Single(await _served.WaitAsync(submission.BatchId)).Succeeded);
        Assert.True(await _served.Db.CountAsync("SELECT count(*) FROM hangfire.server") >= 1); // the app is a worker too

        using var runs = await JsonAsync("/api/runs");
        var run = Assert.Single(runs.RootElement.EnumerateArray().ToList());
        var runId = run.GetProperty("runId").GetInt64();
        Assert.Equal(["probe", "decode", "reconstruct", "segment", "featurize"], run.GetProperty("stages").EnumerateArray().Select(s => s.GetProperty("stage").GetString()));
        Assert.All(run.GetProperty("stages").EnumerateArray(), s => Assert.Equal("succeeded", s.GetProperty("state").GetString()));
        using var none = await JsonAsync($"/api/runs?updatedAfter={Uri.EscapeDataString(run.GetProperty("updatedAt").GetDateTime().ToString("O"))}");
        Assert.Empty(none.RootElement.EnumerateArray());

        using var detail = await JsonAsync($"/api/runs/{runId}");
        var segments = detail.RootElement.GetProperty("segments").EnumerateArray().ToList();
        Assert.True(segments.Count >= 2, $"{segments.Count} segments");
        Assert.Equal(segments.Count, detail.RootElement.GetProperty("run").GetProperty("segments").GetInt32());
        Assert.Equal(HttpStatusCode.NotFound, (await _http.GetAsync(new Uri("/api/runs/999999", UriKind.Relative))).StatusCode);
        // nothing failed: nothing to retry; and a retry without the anti-forgery header is refused before anything else
        Assert.Equal(HttpStatusCode.BadRequest, (await _http.PostAsync(new Uri($"/api/runs/{runId}/retry", UriKind.Relative), null)).StatusCode);
        using var retry = new HttpRequestMessage(HttpMethod.Post, $"/api/runs/{runId}/retry") { Headers = { { "X-Concerto-Request", "1" } } };
        Assert.Equal(HttpStatusCode.Conflict, (await _http.SendAsync(retry)).StatusCode);

        // A failed stage (marked so here: a real failure takes minutes of Hangfire retries) is retried from the API in
        // a new batch that runs it again and skips what had succeeded.
        await _served.Db.CountAsync("WITH u AS (UPDATE run_stages SET state = 'failed', error = 'test failure' WHERE run_id = $1 AND stage = 'featurize' RETURNING 1) SELECT count(*) FROM u", runId);
        using var retryFailed = new HttpRequestMessage(HttpMethod.Post, $"/api/runs/{runId}/retry") { Headers = { { "X-Concerto-Request", "1" } } };
        using var retried = await _http.SendAsync(retryFailed);
        Assert.Equal(HttpStatusCode.Accepted, retried.StatusCode);
        Assert.True((await retried.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("batchId").GetInt64() > submission.BatchId);
        // (The new batch's source links to the run at once and, until its featurize job claims the stage, still sees
        // the old failure: wait for the run's stages rather than the batch.)
        for (var deadline = DateTime.UtcNow.AddMinutes(2); ; await Task.Delay(200))
        {
            using var after = await JsonAsync($"/api/runs/{runId}");
            var states = after.RootElement.GetProperty("run").GetProperty("stages").EnumerateArray().Select(s => s.GetProperty("state").GetString()).ToList();
            if (states.All(s => s == "succeeded")) break;
            Assert.True(DateTime.UtcNow < deadline, $"after the retry: {string.Join(", ", states)}");
        }

        // One segment's files, as served, against the files the segment stage wrote.
        var segmentId = segments[0].GetProperty("id").GetInt64();
        var segment = await _served.App.Services.GetRequiredService<SegmentQueries>().GetAsync(segmentId, CancellationToken.None);
        var folder = Path.Combine(_served.Artifacts, segment!.ArtifactKey);
        var cloud = await _http.GetByteArrayAsync(new Uri($"/api/segments/{segmentId}/cloud", UriKind.Relative));
        var coord = Npy.Read<float>(Path.Combine(folder, "coord.npy")).Data;
        Assert.True(segment.Labelled);
        Assert.Equal(segment.Points * (12 + 3 + 4), cloud.Length);
        Assert.Equal(coord[^1], BitConverter.ToSingle(cloud, 4 * (coord.Length - 1)));
        Assert.Equal(Npy.Read<int>(Path.Combine(folder, "segment.npy")).Data[^1], BitConverter.ToInt32(cloud, cloud.Length - 4));
        var image = await _http.GetAsync(new Uri($"/api/segments/{segmentId}/images/0", UriKind.Relative));
        Assert.Equal("image/jpeg", image.Content.Headers.ContentType?.MediaType);
        Assert.Equal(await File.ReadAllBytesAsync(Path.Combine(folder, segment.Images[0].ImageFile)), await image.Content.ReadAsByteArrayAsync());

        var rows = Npy.Read<float>(Path.Combine(folder, "correspondence", "0.npy")).Data;
        var point = (int)rows[2];
        var pixels = (await _http.GetFromJsonAsync<List<PixelRow>>(new Uri($"/api/segments/{segmentId}/points/{point}/pixels", UriKind.Relative)))!;
        Assert.Contains(pixels, p => p.Slot == 0 && p.Column == rows[0] && p.Row == rows[1]);
        Assert.All(pixels, p => Assert.InRange(p.Slot, 0, segment.Images.Count - 1));
        Assert.Equal(HttpStatusCode.BadRequest, (await _http.GetAsync(new Uri($"/api/segments/{segmentId}/points/{segment.Points}/pixels", UriKind.Relative))).StatusCode);

        // A dataset version and its manifest download.
        var version = await _served.App.Services.GetRequiredService<DatasetCatalog>().CreateAsync("rooms", "labelled", DatasetSplits.Parse("train=0.5,val=0.5"), 3, CancellationToken.None);
        using var list = await JsonAsync("/api/datasets");
        Assert.Equal("rooms", Assert.Single(list.RootElement.EnumerateArray().ToList()).GetProperty("name").GetString());
        using var members = await JsonAsync("/api/datasets/rooms/1");
        Assert.Equal(version.Segments, members.RootElement.GetProperty("members").GetArrayLength());
        var parquet = await _http.GetByteArrayAsync(new Uri("/api/datasets/rooms/1/manifest", UriKind.Relative));
        Assert.Equal("PAR1"u8.ToArray(), parquet[..4]);
        var jsonl = await _http.GetStringAsync(new Uri("/api/datasets/rooms/1/manifest?format=jsonl", UriKind.Relative));
        Assert.Equal(version.Segments, jsonl.Split('\n', StringSplitOptions.RemoveEmptyEntries).Length);
        Assert.Equal(HttpStatusCode.BadRequest, (await _http.GetAsync(new Uri("/api/datasets/rooms/1/manifest?format=csv", UriKind.Relative))).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await _http.GetAsync(new Uri("/api/datasets/rooms/9", UriKind.Relative))).StatusCode);

        // The OpenAPI document lists the routes.
        using var openApi = await JsonAsync("/openapi/v1.json");
        var paths = openApi.RootElement.GetProperty("paths").EnumerateObject().Select(p => p.Name).ToList();
        foreach (var route in new[] { "/api/runs", "/api/runs/{id}", "/api/runs/{id}/retry", "/api/segments/{id}/cloud", "/api/datasets/{name}/{version}/manifest", "/api/training/{id}", "/api/events" })
            Assert.Contains(route, paths);
    }

    private sealed record PixelRow(int Slot, float Column, float Row);

    private async Task<JsonDocument> JsonAsync(string path)
    {
        using var response = await _http.GetAsync(new Uri(path, UriKind.Relative));
        Assert.True(response.IsSuccessStatusCode, $"GET {path}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
        return JsonDocument.Parse(await response.Content.ReadAsStringAsync());
    }
}
