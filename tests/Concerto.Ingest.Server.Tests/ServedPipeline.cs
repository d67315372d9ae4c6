using System.Net;
using Concerto.Ingest.Core.Pipeline;
using Concerto.Ingest.Core.Profiles;
using Concerto.Ingest.Jobs.Hosting;
using Concerto.Ingest.Jobs.Ingest;
using Concerto.Ingest.Media;
using Concerto.Ingest.Media.Ffmpeg;
using Concerto.Ingest.Server.Access;
using Concerto.Ingest.Storage;
using Concerto.Ingest.Storage.Catalog;
using Concerto.Ingest.Synthetic.Capture;
using Concerto.Ingest.TestSupport;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;

namespace Concerto.Ingest.Server.Tests;

/// <summary>`concerto serve`'s app on a real port over a fresh database, working the stage queues itself: what the
/// API and browser tests run against. <paramref name="remoteAddress"/> makes every request look as if it came from
/// that address, and a request header <see cref="RemoteAddressHeader"/> makes that one request look so (both set by the
/// first middleware, before the access guard sees it).</summary>
public sealed class ServedPipeline : IAsyncDisposable
{
    private readonly TestDatabase _db = new();

    private ServedPipeline(string artifacts) => Artifacts = artifacts;

    /// <summary>Test-only request header: the remote address the app should see for this request.</summary>
    public const string RemoteAddressHeader = "X-Test-Remote-Address";

    public string Url { get; private set; } = "";

    public string Artifacts { get; }

    public WebApplication App { get; private set; } = null!;

    public TestDatabase Db => _db;

    public static ProfileDocument Profile { get; } = ProfileDocument.Parse(
        File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "pipelines", "video-default.json")), "video-default.json");

    public static async Task<ServedPipeline> StartAsync(ServerAccessOptions? access = null, IPAddress? remoteAddress = null, int workers = 2,
        IReadOnlyList<string>? queues = null)
    {
        var served = new ServedPipeline(Directory.CreateTempSubdirectory("concerto-serve-").FullName);
        await served._db.InitializeAsync();
        served.App = ConcertoServer.Build(["--urls", "http://127.0.0.1:0", "--Logging:LogLevel:Default=Warning"], served._db.ConnectionString,
            PipelineSettings.For(new StorageOptions { ArtifactRoot = served.Artifacts }), new ServerWork(queues ?? Stage.All, workers), access,
            s => s.AddSingleton<IStartupFilter>(new RemoteAddressFilter(remoteAddress)));
        await served.App.StartAsync();
        served.Url = served.App.Urls.Single(); // the port Kestrel bound
        return served;
    }

    public HttpClient Client() => new() { BaseAddress = new Uri(Url) };

    /// <summary>A synthetic posed capture (reconstructs without a model and yields labelled segments).</summary>
    public async Task<string> CaptureAsync(int seed, int frames = 150)
    {
        var folder = Directory.CreateDirectory(Path.Combine(Artifacts, "captures", $"seed{seed}")).FullName;
        await new SyntheticCaptureWriter(FfmpegTools.Locate()).WriteAsync(new SynthSettings(Seed: seed, Frames: frames, Width: 320, Height: 240, Fps: 10, Points: 1000),
            folder, null, CancellationToken.None);
        return Path.Combine(folder, SyntheticCaptureWriter.VideoFile);
    }

    public Task<IngestSubmission> SubmitAsync(string path, ProfileDocument? profile = null) =>
        App.Services.GetRequiredService<IngestSubmitter>().SubmitAsync([path], profile ?? Profile, force: false, CancellationToken.None);

    /// <summary>The default profile with reconstruct.method none: runs that end with no scene.</summary>
    public static ProfileDocument NoSceneProfile()
    {
        var json = System.Text.Json.Nodes.JsonNode.Parse(File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "pipelines", "video-default.json")),
            documentOptions: new System.Text.Json.JsonDocumentOptions { CommentHandling = System.Text.Json.JsonCommentHandling.Skip })!;
        json["reconstruct"]!["method"] = "none";
        json["name"] = "no-scene";
        return ProfileDocument.Parse(json.ToJsonString(), "no-scene.json");
    }

    /// <summary>Waits (3 minutes at most) until every source of the batch has finished.</summary>
    public Task<IReadOnlyList<SourceProgress>> WaitAsync(long batchId) =>
        Batches.WaitAsync(App.Services.GetRequiredService<StatusQueries>(), batchId, TimeSpan.FromMinutes(3));

    public async ValueTask DisposeAsync()
    {
        await App.StopAsync();
        await App.DisposeAsync();
        await _db.DisposeAsync();
        Directory.Delete(Artifacts, recursive: true);
    }

    private sealed class RemoteAddressFilter(IPAddress? address) : IStartupFilter
    {
        public Action<IApplicationBuilder> Configure(Action<IApplicationBuilder> next) => app =>
        {
            app.Use((HttpContext context, RequestDelegate nextMiddleware) =>
            {
                if (context.Request.Headers.TryGetValue(RemoteAddressHeader, out var header)) context.Connection.RemoteIpAddress = IPAddress.Parse(header.ToString());
                else if (address is not null) context.Connection.RemoteIpAddress = address;
                return nextMiddleware(context);
            });
            next(app);
        };
    }
}
