using System.Net;
using System.Net.Sockets;
using System.Text.Json;
using Concerto.Ingest.Jobs.Hosting;
using Concerto.Ingest.Storage;
using Concerto.Ingest.TestSupport;

namespace Concerto.Ingest.Server.Tests;

/// <summary>`concerto serve`'s app on a real port and a real database.</summary>
public sealed class ConcertoServerTests : IAsyncLifetime
{
    private readonly TestDatabase _db = new();
    private readonly string _artifacts = Directory.CreateTempSubdirectory("concerto-serve-").FullName;

    public Task InitializeAsync() => _db.InitializeAsync();

    public async Task DisposeAsync()
    {
        await _db.DisposeAsync();
        Directory.Delete(_artifacts, recursive: true);
    }

    [Fact]
    public async Task Serve_AnswersDashboardAndApi_OnLoopback()
    {
        var url = $"http://127.0.0.1:{FreePort()}";
        await using var app = ConcertoServer.Build(["--urls", url], _db.ConnectionString, new StorageOptions { ArtifactRoot = _artifacts },
            new MediaOptions(), new ReconstructionOptions(), workers: 1);
        await app.StartAsync();
        using var http = new HttpClient { BaseAddress = new Uri(url) };

        var dashboard = await http.GetAsync(new Uri("/hangfire", UriKind.Relative));
        Assert.Equal(HttpStatusCode.OK, dashboard.StatusCode);
        Assert.Contains("Concerto.Ingest jobs", await dashboard.Content.ReadAsStringAsync(), StringComparison.Ordinal);

        var runs = await http.GetAsync(new Uri("/api/runs", UriKind.Relative));
        Assert.Equal(HttpStatusCode.OK, runs.StatusCode);
        using var json = JsonDocument.Parse(await runs.Content.ReadAsStringAsync());
        Assert.Equal(JsonValueKind.Array, json.RootElement.ValueKind);

        // the server also works the stage queues: its Hangfire server is registered
        Assert.True(await _db.CountAsync("SELECT count(*) FROM hangfire.server") >= 1);
        await app.StopAsync();
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
