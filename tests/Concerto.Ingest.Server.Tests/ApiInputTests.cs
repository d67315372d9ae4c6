using System.Net;
using System.Text.Json;
using Concerto.Ingest.Core.Datasets;
using Concerto.Ingest.Server.Api;
using Concerto.Ingest.Storage.Catalog;
using Concerto.Ingest.TestSupport;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;

namespace Concerto.Ingest.Server.Tests;

/// <summary>Hostile route values and query parameters against the served API over a catalogue that holds a run (whose
/// video path is itself SQL), its segments, a failed stage and a dataset version: every answer is a 2xx or a 4xx with a
/// JSON problem, never a 500, and afterwards every table holds exactly what it held before.</summary>
public sealed class ApiInputTests : IAsyncLifetime
{
    private ServedPipeline _served = null!;
    private HttpClient _http = null!;
    private long _run;
    private long _segment;

    public async Task InitializeAsync()
    {
        _served = await ServedPipeline.StartAsync(workers: 1);
        _http = _served.Client();
        _run = await CatalogRows.SegmentedRunAsync(_served.Db.DataSource, ServedPipeline.Profile, "/videos/x' OR 1=1 --.mp4", 3);
        // A failed stage: a retry that got past its checks would submit a batch.
        await _served.Db.CountAsync("WITH u AS (UPDATE run_stages SET state = 'failed', error = 'test' WHERE run_id = $1 AND stage = 'featurize' RETURNING 1) SELECT count(*) FROM u", _run);
        _segment = await _served.Db.CountAsync("SELECT min(id) FROM segments WHERE run_id = $1", _run);
        await _served.App.Services.GetRequiredService<DatasetCatalog>().CreateAsync("rooms", "labelled", DatasetSplits.Parse("train=0.5,val=0.5"), 1,
            CancellationToken.None);
    }

    public async Task DisposeAsync()
    {
        _http.Dispose();
        await _served.DisposeAsync();
    }

    /// <summary>(method, path and query as sent, the statuses allowed). Placeholders: {run}, {segment}.</summary>
    private static readonly (string Method, string Path, int[] Allowed)[] Requests =
    [
        // GET /api/runs: limit and updatedAfter
        ("GET", "/api/runs?limit=abc", [400]),
        ("GET", "/api/runs?limit=1%3B%20DROP%20TABLE%20runs", [400]),
        ("GET", "/api/runs?limit=1%20OR%201%3D1", [400]),
        ("GET", "/api/runs?limit=99999999999999999999", [400]),
        ("GET", "/api/runs?limit=0x10", [400]),
        ("GET", "/api/runs?limit=" + new string('9', 4000), [400]),
        ("GET", "/api/runs?limit=-5", [200]),
        ("GET", "/api/runs?limit=2147483647", [200]),
        ("GET", "/api/runs?limit=1&limit=2", [200, 400]),
        ("GET", "/api/runs?updatedAfter=yesterday", [400]),
        ("GET", "/api/runs?updatedAfter=%27%20OR%201%3D1%20--", [400]),
        ("GET", "/api/runs?updatedAfter=2026-13-45", [400]),
        ("GET", "/api/runs?updatedAfter=infinity", [400]),
        ("GET", "/api/runs?updatedAfter=-infinity", [400]),
        ("GET", "/api/runs?updatedAfter=now()", [400]),
        ("GET", "/api/runs?updatedAfter=0001-01-01T00:00:00Z", [200]),
        ("GET", "/api/runs?updatedAfter=9999-12-31T23:59:59.9999999Z", [200]),
        ("GET", "/api/runs?updatedAfter=2026-01-01T00:00:00%2B14:00", [200]),
        ("GET", "/api/runs?updatedAfter=2026-01-01T00:00:00-12:00&limit=1", [200]),
        // GET /api/runs/{id}, batches, rejects
        ("GET", "/api/runs/abc", [404]),
        ("GET", "/api/runs/1%20OR%201=1", [404]),
        ("GET", "/api/runs/1%3B%20DROP%20TABLE%20runs", [404]),
        ("GET", "/api/runs/-1", [404]),
        ("GET", "/api/runs/0", [404]),
        ("GET", "/api/runs/9223372036854775807", [404]),
        ("GET", "/api/runs/9223372036854775808", [404]),
        ("GET", "/api/runs/%00", [400, 404]),
        ("GET", "/api/batches/abc", [404]),
        ("GET", "/api/batches/-1", [200]),
        ("GET", "/api/rejects?limit=abc", [400]),
        ("GET", "/api/rejects?limit=2147483648", [400]),
        ("GET", "/api/rejects?limit=-2147483648", [200]),
        // GET /api/datasets/{name}/{version}[/manifest?format=]
        ("GET", "/api/datasets/%27%3B%20DROP%20TABLE%20dataset_versions%3B%20--/1", [404]),
        ("GET", "/api/datasets/rooms%27%20OR%20%271%27%3D%271/1", [404]),
        ("GET", "/api/datasets/a%3Bb/1", [404]),
        ("GET", "/api/datasets/..%2F..%2Fetc%2Fpasswd/1", [404]),
        ("GET", "/api/datasets/%2E%2E/1", [404]),
        ("GET", "/api/datasets/a%5Cb/1", [404]),
        ("GET", "/api/datasets/a%00b/1", [400]), // Kestrel refuses NUL in a path itself
        ("GET", "/api/datasets/%EF%BD%98/1", [404]), // fullwidth x
        ("GET", "/api/datasets/%FF%FE/1", [404]), // not UTF-8
        ("GET", "/api/datasets/%E2%80%AErooms/1", [404]), // right-to-left override
        ("GET", "/api/datasets/" + new string('a', 101) + "/1", [404]),
        ("GET", "/api/datasets/" + new string('a', 5000) + "/1", [404]),
        ("GET", "/api/datasets/rooms/abc", [404]),
        ("GET", "/api/datasets/rooms/1.5", [404]),
        ("GET", "/api/datasets/rooms/-1", [404]),
        ("GET", "/api/datasets/rooms/0", [404]),
        ("GET", "/api/datasets/rooms/2147483648", [404]),
        ("GET", "/api/datasets/rooms/1%20OR%201%3D1", [404]),
        ("GET", "/api/datasets/rooms/1/manifest?format=csv", [400]),
        ("GET", "/api/datasets/rooms/1/manifest?format=parquet%3B%20DROP%20TABLE%20segments", [400]),
        ("GET", "/api/datasets/rooms/1/manifest?format=..%2F..%2Fetc%2Fpasswd", [400]),
        ("GET", "/api/datasets/rooms/1/manifest?format=%00", [400]),
        ("GET", "/api/datasets/rooms/1/manifest?format=JSONL", [400]),
        ("GET", "/api/datasets/rooms/1/manifest?format=jsonl%0A", [400]),
        ("GET", "/api/datasets/rooms/1/manifest?format=", [200, 400]),
        ("GET", "/api/datasets/rooms/1/manifest?format=jsonl&format=parquet", [400]),
        ("GET", "/api/datasets/..%2Frooms/1/manifest?format=jsonl", [404]),
        ("GET", "/api/datasets/rooms/1/manifest?format=jsonl", [200]),
        // GET /api/segments/...
        ("GET", "/api/segments/abc", [404]),
        ("GET", "/api/segments/-1", [404]),
        ("GET", "/api/segments/1%27", [404]),
        ("GET", "/api/segments/999999/cloud", [404]),
        ("GET", "/api/segments/999999/images/0", [404]),
        ("GET", "/api/segments/{segment}/images/abc", [404]),
        ("GET", "/api/segments/{segment}/images/99", [404]),
        ("GET", "/api/segments/{segment}/images/-1", [404]),
        ("GET", "/api/segments/{segment}/points/-1/pixels", [400]),
        ("GET", "/api/segments/{segment}/points/2147483647/pixels", [400]),
        ("GET", "/api/segments/{segment}/points/2147483648/pixels", [404]),
        ("GET", "/api/segments/{segment}/points/abc/pixels", [404]),
        // GET /api/training, /api/events
        ("GET", "/api/training?limit=abc", [400]),
        ("GET", "/api/training/abc", [404]),
        ("GET", "/api/training/-1", [404]),
        ("GET", "/api/events?since=garbage", [400]),
        ("GET", "/api/events?since=%27%20OR%201%3D1%20--", [400]),
        // pages, assets, OpenAPI, unknown paths and methods
        ("GET", "/assets/..%2F..%2Fappsettings.json", [404]),
        ("GET", "/assets/%2E%2E%2Fconcerto.dll", [404]),
        ("GET", "/assets/app.js%20", [404]),
        ("GET", "/openapi/v2.json", [404]),
        ("GET", "/openapi/..%2F..%2Fappsettings.json", [404]),
        ("GET", "/nonexistent", [404]),
        ("PUT", "/api/runs", [405]),
        ("DELETE", "/api/datasets/rooms/1", [405]),
        ("PATCH", "/api/runs/{run}", [405]),
        // POST /api/runs/{id}/retry with the anti-forgery header: hostile ids
        ("POST", "/api/runs/abc/retry", [404]),
        ("POST", "/api/runs/-1/retry", [404]),
        ("POST", "/api/runs/1%3B%20DELETE%20FROM%20runs/retry", [404]),
    ];

    [Fact]
    public async Task HostileRouteValuesAndQueries_GetAProblem_NeverA500_AndChangeNothing()
    {
        var before = await CatalogRows.FingerprintAsync(_served.Db.DataSource);
        var batches = await _served.Db.CountAsync("SELECT count(*) FROM ingest_batches");
        var failures = new List<string>();
        foreach (var (method, template, allowed) in Requests)
        {
            var path = template.Replace("{run}", _run.ToString(System.Globalization.CultureInfo.InvariantCulture), StringComparison.Ordinal)
                .Replace("{segment}", _segment.ToString(System.Globalization.CultureInfo.InvariantCulture), StringComparison.Ordinal);
            using var request = new HttpRequestMessage(new HttpMethod(method), new Uri(path, UriKind.Relative)) { Headers = { { Csrf.Header, "1" } } };
            using var response = await _http.SendAsync(request);
            var status = (int)response.StatusCode;
            var body = await response.Content.ReadAsStringAsync();
            var shown = path.Length > 80 ? path[..80] + "..." : path;
            if (!allowed.Contains(status))
            {
                failures.Add($"{method} {shown}: {status} (expected {string.Join(" or ", allowed)}) {body[..Math.Min(200, body.Length)]}");
                continue;
            }

            if (status < 400) continue;
            if (response.Content.Headers.ContentType?.MediaType is null && body.Length == 0 && status == 400)
                continue; // refused by Kestrel before the app (a NUL in the path): no body to give
            if (response.Content.Headers.ContentType?.MediaType != "application/problem+json")
            {
                failures.Add($"{method} {shown}: {status} as {response.Content.Headers.ContentType} '{body[..Math.Min(200, body.Length)]}'");
                continue;
            }

            using var problem = JsonDocument.Parse(body);
            if (problem.RootElement.GetProperty("status").GetInt32() != status
                || string.IsNullOrWhiteSpace(problem.RootElement.TryGetProperty("detail", out var detail) ? detail.GetString() : null))
                failures.Add($"{method} {shown}: problem without a status or detail: {body}");
            if (body.Contains("   at ", StringComparison.Ordinal) || body.Contains("Npgsql", StringComparison.Ordinal))
                failures.Add($"{method} {shown}: the problem shows internals: {body}");
        }

        Assert.True(failures.Count == 0, string.Join("\n", failures));
        Assert.Equal(before, await CatalogRows.FingerprintAsync(_served.Db.DataSource));
        Assert.Equal(batches, await _served.Db.CountAsync("SELECT count(*) FROM ingest_batches"));
    }

    /// <summary>Artifact keys come from the database; one that a bad row (or an attacker with database access) made to
    /// point outside the artifact root is refused with 400 and never read; one whose files are gone is 404.</summary>
    [Theory]
    [InlineData("../../../../etc", 400)]
    [InlineData("/etc", 400)]
    [InlineData("runs/1/segment/test/../../../../../etc", 400)]
    [InlineData("runs/1/segment/gone/s0", 404)]
    public async Task SegmentFiles_AreRefused_WhenTheStoredKeyLeavesTheArtifactRootOrIsGone(string key, int status)
    {
        await _served.Db.CountAsync("WITH u AS (UPDATE segments SET artifact_key = $2 WHERE id = $1 RETURNING 1) SELECT count(*) FROM u", _segment, key);

        foreach (var path in new[] { $"/api/segments/{_segment}/cloud", $"/api/segments/{_segment}/images/0", $"/api/segments/{_segment}/points/0/pixels" })
        {
            using var response = await _http.GetAsync(new Uri(path, UriKind.Relative));
            Assert.True((int)response.StatusCode == status, $"{path}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
            Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        }
    }

    [Fact]
    public async Task EveryStateChangingRoute_WithoutTheCsrfHeader_IsRefused_BeforeItActs()
    {
        var before = await CatalogRows.FingerprintAsync(_served.Db.DataSource);
        var routes = ((IEndpointRouteBuilder)_served.App).DataSources.SelectMany(d => d.Endpoints).OfType<RouteEndpoint>()
            .SelectMany(e => (e.Metadata.GetMetadata<HttpMethodMetadata>()?.HttpMethods ?? []).Select(m => (Method: m, Endpoint: e)))
            .Where(r => r.Method is not ("GET" or "HEAD" or "OPTIONS"))
            .ToList();
        Assert.NotEmpty(routes);

        foreach (var (method, endpoint) in routes)
        {
            // Route values name the seeded run, whose failed stage a retry would act on.
            var path = "/" + string.Join('/', endpoint.RoutePattern.PathSegments.Select(segment => string.Concat(segment.Parts.Select(part => part switch
            {
                Microsoft.AspNetCore.Routing.Patterns.RoutePatternLiteralPart literal => literal.Content,
                Microsoft.AspNetCore.Routing.Patterns.RoutePatternParameterPart => _run.ToString(System.Globalization.CultureInfo.InvariantCulture),
                _ => "",
            }))));
            foreach (var headers in new[] { Array.Empty<(string, string)>(), [("X-Requested-With", "XMLHttpRequest")], [("X-Concerto", "1")] })
            {
                using var request = new HttpRequestMessage(new HttpMethod(method), new Uri(path, UriKind.Relative));
                foreach (var (name, value) in headers) request.Headers.Add(name, value);
                // what a cross-site form can send
                request.Content = new FormUrlEncodedContent([new("X-Concerto-Request", "1")]);
                using var response = await _http.SendAsync(request);
                Assert.True(response.StatusCode == HttpStatusCode.BadRequest, $"{method} {path}: {(int)response.StatusCode}");
                Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
                Assert.Contains(Csrf.Header, await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
            }
        }

        Assert.Equal(before, await CatalogRows.FingerprintAsync(_served.Db.DataSource));
    }
}
