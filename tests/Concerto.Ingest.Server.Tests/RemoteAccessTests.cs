using System.Net;
using System.Net.Http.Headers;
using System.Text;
using Concerto.Ingest.Server.Access;
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
        foreach (var (method, path) in Routes(served))
        {
            foreach (var wrong in new AuthenticationHeaderValue?[] { null, new("Bearer", "tok-wrong"), Basic("ana", "nope") })
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
