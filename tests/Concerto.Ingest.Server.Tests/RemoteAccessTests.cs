using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.RegularExpressions;
using Concerto.Ingest.Server.Access;
using Hangfire;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;

namespace Concerto.Ingest.Server.Tests;

/// <summary>Requests from a non-local address, against the real app: every page, API route, asset and Hangfire
/// dashboard path is refused without credentials (403 while none are configured, 401 when they are), and the
/// configured token or basic credentials get in.</summary>
public sealed class RemoteAccessTests
{
    private static readonly IPAddress Remote = IPAddress.Parse("203.0.113.7");

    [Fact]
    public async Task EveryRoute_FromRemote_WithoutCredentialsConfigured_Is403()
    {
        await using var served = await ServedPipeline.StartAsync(remoteAddress: Remote, workers: 1);
        using var http = served.Client();
        var routes = Routes(served);
        Assert.True(routes.Count >= 15, $"only {routes.Count} routes found: {string.Join(", ", routes)}");
        foreach (var (method, path) in routes)
        {
            using var response = await http.SendAsync(new HttpRequestMessage(method, path));
            Assert.True(response.StatusCode == HttpStatusCode.Forbidden, $"{method} {path}: {(int)response.StatusCode}");
        }
    }

    [Fact]
    public async Task EveryRoute_FromRemote_NeedsTheConfiguredCredentials()
    {
        var access = new ServerAccessOptions { Token = "tok-" + Guid.NewGuid().ToString("N"), User = "ana", Password = "pa55" };
        await using var served = await ServedPipeline.StartAsync(access, Remote, workers: 1);
        using var http = served.Client();
        var token = access.Token;
        var wrongs = new AuthenticationHeaderValue?[]
        {
            null, new("Bearer", "tok-wrong"), new("Bearer", token + "x"), new("Bearer", token[..^1]), new("Bearer", token.ToUpperInvariant()),
            new("Bearer", token + " " + token), new("Bearer", $"\"{token}\""), new("Bearer", "pa55"), new("Token", token), new("Basic", token),
            Basic("ana", "nope"), Basic("ana", ""), Basic("Ana", "pa55"), Basic("ana", "pa55 "), Basic("ana", token), Basic("", "pa55"),
            Basic("ana:pa55", ""), new("Bearer", Basic("ana", "pa55").Parameter), new("Basic", "not base64!"), new("Basic", "YW5h"),
        };
        foreach (var (method, path) in Routes(served))
        {
            foreach (var wrong in wrongs)
            {
                using var request = new HttpRequestMessage(method, path) { Headers = { Authorization = wrong } };
                using var response = await http.SendAsync(request);
                Assert.True(response.StatusCode == HttpStatusCode.Unauthorized, $"{method} {path} with {wrong?.Scheme ?? "nothing"}: {(int)response.StatusCode}");
            }
        }

        foreach (var right in new[] { new AuthenticationHeaderValue("Bearer", access.Token), Basic("ana", "pa55") })
        {
            foreach (var path in new[] { "/", "/api/runs", "/hangfire", "/openapi/v1.json" })
            {
                using var request = new HttpRequestMessage(HttpMethod.Get, path) { Headers = { Authorization = right } };
                using var response = await http.SendAsync(request);
                Assert.True(response.StatusCode == HttpStatusCode.OK, $"GET {path} with {right.Scheme}: {(int)response.StatusCode}");
            }
        }
    }

    [Fact]
    public async Task EveryRoute_FromRemote_RefusesEveryHttpMethod_WithoutCredentials()
    {
        await using var served = await ServedPipeline.StartAsync(remoteAddress: Remote, workers: 1);
        using var http = served.Client();
        foreach (var path in Routes(served).Select(r => r.Path).Distinct())
        {
            foreach (var method in new[] { "GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "PROPFIND" })
            {
                using var request = new HttpRequestMessage(new HttpMethod(method), path) { Headers = { { "X-Concerto-Request", "1" } } };
                using var response = await http.SendAsync(request);
                Assert.True(response.StatusCode == HttpStatusCode.Forbidden, $"{method} {path}: {(int)response.StatusCode}");
            }
        }
    }

    [Theory]
    [InlineData("attacker.example")]
    [InlineData("attacker.example:5080")]
    [InlineData("127.0.0.1.nip.io")]
    [InlineData("localhost.attacker.example")]
    [InlineData("evil-localhost")]
    public async Task EveryRoute_FromLoopback_NamingAnotherHost_IsRefused(string host)
    {
        // DNS rebinding: a page on attacker.example re-points its name at 127.0.0.1. The browser then connects from
        // loopback, but sends Host: attacker.example and lets that page read the answers.
        await using var served = await ServedPipeline.StartAsync(workers: 1);
        using var http = served.Client();
        foreach (var (method, path) in Routes(served))
        {
            using var request = new HttpRequestMessage(method, path) { Headers = { Host = host } };
            request.Headers.Add("X-Concerto-Request", "1");
            using var response = await http.SendAsync(request);
            Assert.True(response.StatusCode == HttpStatusCode.Forbidden, $"{method} {path} with Host {host}: {(int)response.StatusCode}");
        }
    }

    [Theory]
    [InlineData(null)]
    [InlineData("localhost")]
    [InlineData("LOCALHOST:1234")]
    [InlineData("dashboard.localhost")]
    [InlineData("127.0.0.1")]
    [InlineData("127.0.0.1:80")]
    [InlineData("[::1]:5080")]
    [InlineData("10.0.0.5")]
    public async Task Loopback_NamingThisMachine_GetsIn(string? host)
    {
        await using var served = await ServedPipeline.StartAsync(workers: 1);
        using var http = served.Client();
        foreach (var name in new[] { host ?? new Uri(served.Url).Authority, System.Net.Dns.GetHostName() })
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, "/api/runs") { Headers = { Host = name } };
            using var response = await http.SendAsync(request);
            Assert.True(response.StatusCode == HttpStatusCode.OK, $"Host {name}: {(int)response.StatusCode}");
        }
    }

    [Fact]
    public async Task HangfireDashboard_EveryPageAndCommandItLinks_NeedsTheConfiguredCredentials()
    {
        var access = new ServerAccessOptions { Token = "tok-" + Guid.NewGuid().ToString("N"), User = "ana", Password = "pa55" };
        await using var served = await ServedPipeline.StartAsync(access, workers: 1);
        // Jobs in several states, so that job pages and their commands are linked.
        var jobs = served.App.Services.GetRequiredService<IBackgroundJobClient>();
        var scheduled = jobs.Schedule(() => HangfireProbe.Nothing(), TimeSpan.FromDays(1));
        jobs.Create(() => HangfireProbe.Nothing(), new Hangfire.States.FailedState(new InvalidOperationException("test")));
        using var http = served.Client();

        var (pages, commands) = await CrawlHangfireAsync(http);
        Assert.True(pages.Count >= 10, $"only {pages.Count} dashboard pages: {string.Join(", ", pages)}");
        Assert.Contains($"/hangfire/jobs/details/{scheduled}", pages);
        Assert.True(commands.Count >= 3, $"only {commands.Count} dashboard commands: {string.Join(", ", commands)}; pages {string.Join(", ", pages)}");

        foreach (var (method, path) in pages.Select(p => (HttpMethod.Get, p)).Concat(commands.Select(c => (HttpMethod.Post, c))))
        {
            foreach (var wrong in new AuthenticationHeaderValue?[] { null, new("Bearer", "tok-wrong"), Basic("ana", "nope"), Basic("ana", access.Token) })
            {
                using var request = new HttpRequestMessage(method, path) { Headers = { Authorization = wrong } };
                request.Headers.Add(ServedPipeline.RemoteAddressHeader, Remote.ToString());
                using var response = await http.SendAsync(request);
                Assert.True(response.StatusCode == HttpStatusCode.Unauthorized, $"{method} {path} from remote with {wrong?.Scheme ?? "nothing"}: {(int)response.StatusCode}");
            }
        }

        foreach (var path in pages)
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, path) { Headers = { Authorization = new AuthenticationHeaderValue("Bearer", access.Token) } };
            request.Headers.Add(ServedPipeline.RemoteAddressHeader, Remote.ToString());
            using var response = await http.SendAsync(request);
            Assert.True(response.StatusCode == HttpStatusCode.OK, $"GET {path} from remote with the token: {(int)response.StatusCode}");
        }

        // Nothing those refused commands aimed at changed.
        using var connection = served.App.Services.GetRequiredService<JobStorage>().GetConnection();
        Assert.Equal("Scheduled", connection.GetStateData(scheduled).Name);
    }

    [Fact]
    public async Task HangfireCommands_FromThisMachine_NeedThePagesAntiforgeryToken()
    {
        await using var served = await ServedPipeline.StartAsync(workers: 1);
        var scheduled = served.App.Services.GetRequiredService<IBackgroundJobClient>().Schedule(() => HangfireProbe.Nothing(), TimeSpan.FromDays(1));
        var storage = served.App.Services.GetRequiredService<JobStorage>();
        using var http = served.Client();
        FormUrlEncodedContent Jobs() => new([new("jobs[]", scheduled)]);

        // What a page on another site can make a local browser send: the form, without the token.
        using (var forged = await http.PostAsync(new Uri("/hangfire/jobs/scheduled/delete", UriKind.Relative), Jobs()))
            Assert.Equal(HttpStatusCode.Forbidden, forged.StatusCode);
        using (var stats = await http.PostAsync(new Uri("/hangfire/stats", UriKind.Relative), new FormUrlEncodedContent([new("metrics[]", "enqueued:count")])))
            Assert.Equal(HttpStatusCode.Forbidden, stats.StatusCode);
        using (var connection = storage.GetConnection())
            Assert.Equal("Scheduled", connection.GetStateData(scheduled).Name);

        // The dashboard's own page carries the token (and sets its cookie); with it the command runs.
        var page = await http.GetStringAsync(new Uri("/hangfire/jobs/scheduled", UriKind.Relative));
        var header = Regex.Match(page, "<meta name=\"csrf-header\" content=\"([^\"]+)\"").Groups[1].Value;
        var token = Regex.Match(page, "<meta name=\"csrf-token\" content=\"([^\"]+)\"").Groups[1].Value;
        Assert.NotEmpty(header);
        Assert.NotEmpty(token);
        using var request = new HttpRequestMessage(HttpMethod.Post, "/hangfire/jobs/scheduled/delete") { Content = Jobs() };
        request.Headers.Add(header, token);
        using var allowed = await http.SendAsync(request);
        Assert.True(allowed.IsSuccessStatusCode, $"with the token: {(int)allowed.StatusCode}");
        using (var connection = storage.GetConnection())
            Assert.Equal("Deleted", connection.GetStateData(scheduled).Name);
    }

    /// <summary>The dashboard pages reachable from /hangfire by its own links (as a local client sees them), and the
    /// command URLs (data-url, POSTed by the dashboard's script) they carry.</summary>
    private static async Task<(List<string> Pages, List<string> Commands)> CrawlHangfireAsync(HttpClient http)
    {
        var found = new List<string> { "/hangfire" };
        var pages = new List<string>();
        var commands = new SortedSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < found.Count && found.Count < 100; i++)
        {
            using var response = await http.GetAsync(new Uri(found[i], UriKind.Relative));
            if (response.StatusCode != HttpStatusCode.OK) continue; // a link to something that is not there (an empty queue)
            pages.Add(found[i]);
            if (response.Content.Headers.ContentType?.MediaType != "text/html") continue;
            var html = await response.Content.ReadAsStringAsync();
            foreach (Match link in Regex.Matches(html, "(href|src|data-url|data-ajax)=\"(/hangfire[^\"?#]*)"))
            {
                var url = WebUtility.HtmlDecode(link.Groups[2].Value);
                if (link.Groups[1].Value is "data-url" or "data-ajax") commands.Add(url);
                else if (!found.Contains(url)) found.Add(url);
            }
        }

        return (pages, [.. commands]);
    }

    private static AuthenticationHeaderValue Basic(string user, string password) =>
        new("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes($"{user}:{password}")));

    /// <summary>Every endpoint the app maps (route values filled in), its assets, and Hangfire dashboard pages and commands.</summary>
    private static List<(HttpMethod Method, string Path)> Routes(ServedPipeline served)
    {
        var routes = new List<(HttpMethod, string)>();
        foreach (var endpoint in ((IEndpointRouteBuilder)served.App).DataSources.SelectMany(d => d.Endpoints).OfType<RouteEndpoint>())
        {
            var path = "/" + string.Join('/', endpoint.RoutePattern.PathSegments.Select(segment => string.Concat(segment.Parts.Select(part => part switch
            {
                Microsoft.AspNetCore.Routing.Patterns.RoutePatternLiteralPart literal => literal.Content,
                Microsoft.AspNetCore.Routing.Patterns.RoutePatternParameterPart parameter => parameter.Name switch
                {
                    "file" => "app.js",
                    "name" => "rooms",
                    "documentName" => "v1",
                    _ => "1",
                },
                _ => "",
            }))));
            var methods = endpoint.Metadata.GetMetadata<HttpMethodMetadata>()?.HttpMethods ?? ["GET"];
            routes.AddRange(methods.Select(m => (new HttpMethod(m), path)));
        }

        routes.Add((HttpMethod.Get, "/assets/style.css"));
        routes.Add((HttpMethod.Get, "/hangfire"));
        routes.Add((HttpMethod.Get, "/hangfire/jobs/enqueued"));
        routes.Add((HttpMethod.Get, "/hangfire/servers"));
        routes.Add((HttpMethod.Post, "/hangfire/stats"));
        routes.Add((HttpMethod.Get, "/nonexistent"));
        return routes;
    }
}

/// <summary>A job for the dashboard tests to schedule; never run.</summary>
public static class HangfireProbe
{
    public static void Nothing()
    {
    }
}
