using Concerto.Ingest.Formats.Arrays;
using Concerto.Ingest.Storage.Catalog;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Playwright;
using Xunit.Abstractions;

namespace Concerto.Ingest.Server.Tests;

/// <summary>The dashboard in headless Chromium (Debian's, driven by Playwright) against the real served pipeline: the
/// overview loads, a run submitted while the page is open progresses on it without a reload, and the segment viewer
/// shows a segment whose point, picked by a click in the 3D view, is marked at its pixels in the images. Screenshots go
/// to artifacts/screenshots/ at the repository root.</summary>
public sealed class DashboardBrowserTests(ITestOutputHelper output) : IAsyncLifetime
{
    private const string Chromium = "/usr/bin/chromium";
    private ServedPipeline _served = null!;
    private IPlaywright _playwright = null!;
    private IBrowser _browser = null!;

    public async Task InitializeAsync()
    {
        Assert.True(File.Exists(Chromium), $"{Chromium} is missing: run scripts/setup.sh --browser (installs Debian's chromium)");
        _served = await ServedPipeline.StartAsync();
        _playwright = await Playwright.CreateAsync();
        _browser = await _playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
        {
            ExecutablePath = Chromium,
            Headless = true,
            // software WebGL (SwiftShader) for the 3D view on machines without a GPU
            Args = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--use-angle=swiftshader", "--enable-unsafe-swiftshader"],
        });
    }

    public async Task DisposeAsync()
    {
        await _browser.DisposeAsync();
        _playwright.Dispose();
        await _served.DisposeAsync();
    }

    [Fact]
    public async Task Overview_WatchARun_ThenPickAPointInTheSegmentViewer()
    {
        var page = await _browser.NewPageAsync(new BrowserNewPageOptions { ViewportSize = new ViewportSize { Width = 1400, Height = 900 } });
        var errors = new List<string>();
        page.PageError += (_, e) => errors.Add(e);
        page.Console += (_, m) => { if (m.Type == "error") errors.Add($"{m.Text} ({m.Location})"); };

        // The overview, empty, with the live stream up.
        await page.GotoAsync(_served.Url + "/");
        await Expect(page.Locator("#live.on")).ToHaveTextAsync("live");
        await Expect(page.Locator("#runs")).ToBeVisibleAsync();
        await Screenshot(page, "overview-empty");

        // A run submitted now appears and progresses on the open page: seen running, then every stage succeeded.
        var submission = await _served.SubmitAsync(await _served.CaptureAsync(seed: 6));
        var row = page.Locator("#runs tbody tr").First;
        await Expect(row).ToBeVisibleAsync(new() { Timeout = 60_000 });
        var seenStates = new HashSet<string>();
        var progressShot = false;
        var deadline = DateTime.UtcNow.AddMinutes(3);
        while (await page.Locator("#runs tbody tr .stage[data-state=succeeded]").CountAsync() < 5)
        {
            foreach (var state in await page.Locator("#runs tbody tr .stage").EvaluateAllAsync<string[]>("els => els.map(e => e.dataset.stage + ':' + e.dataset.state)"))
                seenStates.Add(state);
            Assert.True(DateTime.UtcNow < deadline, $"run not finished on the page; states seen: {string.Join(", ", seenStates)}");
            if (!progressShot && seenStates.Any(s => s.EndsWith(":running", StringComparison.Ordinal)))
            {
                await Screenshot(page, "overview-progress");
                progressShot = true;
            }

            await Task.Delay(100);
        }

        output.WriteLine($"stage states seen on the open page: {string.Join(", ", seenStates)}");
        Assert.Contains(seenStates, s => s.EndsWith(":running", StringComparison.Ordinal) || s.EndsWith(":pending", StringComparison.Ordinal));
        Assert.True(Assert.Single(await _served.WaitAsync(submission.BatchId)).Succeeded);
        await Screenshot(page, "overview-done");
        Assert.Equal(1, await page.EvaluateAsync<int>("performance.getEntriesByType('navigation').length")); // never reloaded

        // The run's page, then its first segment in the viewer.
        await row.Locator("a").First.ClickAsync();
        await Expect(page.Locator("#stages tbody tr[data-state=succeeded]")).ToHaveCountAsync(5);
        await page.Locator("#segments tbody a").First.ClickAsync();
        await Expect(page.Locator("#cloud")).ToBeVisibleAsync();
        await page.WaitForFunctionAsync("() => window.concertoViewer !== undefined");
        await Expect(page.Locator(".images img")).ToHaveCountAsync(4);
        await page.WaitForFunctionAsync("() => [...document.querySelectorAll('.images img')].every(i => i.complete && i.naturalWidth > 0)");
        Assert.Equal(1.0, await page.EvaluateAsync<double>("window.concertoViewer.inView()")); // the whole cloud in frame on open

        // Pick, by a click where the viewer draws it, a point the first image sees (from the correspondence file).
        var segmentId = long.Parse(page.Url.Split('/')[^1], System.Globalization.CultureInfo.InvariantCulture);
        var segment = (await _served.App.Services.GetRequiredService<SegmentQueries>().GetAsync(segmentId, CancellationToken.None))!;
        var rows = Npy.Read<float>(Path.Combine(_served.Artifacts, segment.ArtifactKey, "correspondence", "0.npy")).Data;
        var target = (int)rows[3 * (rows.Length / 6) + 2];
        var at = await page.EvaluateAsync<ScreenPoint>($"window.concertoViewer.screenOf({target})");
        await page.Mouse.ClickAsync((float)at.X, (float)at.Y);
        await Expect(page.Locator("#picked[data-index]")).ToBeVisibleAsync();
        var picked = int.Parse((await page.Locator("#picked").GetAttributeAsync("data-index"))!, System.Globalization.CultureInfo.InvariantCulture);
        output.WriteLine($"clicked point {target} at ({at.X:0}, {at.Y:0}); picked {picked}: {await page.Locator("#picked").TextContentAsync()}");
        // The click picks the nearest point along the ray: the target or a neighbour drawn at the same place.
        var xyz = (float[])[.. Npy.Read<float>(Path.Combine(_served.Artifacts, segment.ArtifactKey, "coord.npy")).Data.Skip(3 * picked).Take(3)];
        var wanted = (float[])[.. Npy.Read<float>(Path.Combine(_served.Artifacts, segment.ArtifactKey, "coord.npy")).Data.Skip(3 * target).Take(3)];
        var screen = await page.EvaluateAsync<ScreenPoint>($"window.concertoViewer.screenOf({picked})");
        Assert.True(Math.Abs(screen.X - at.X) < 12 && Math.Abs(screen.Y - at.Y) < 12, $"picked point {picked} ({string.Join(", ", xyz)}) is drawn at ({screen.X:0}, {screen.Y:0}), not near the click");
        output.WriteLine($"target at ({string.Join(", ", wanted)})");

        // Its markers: one per image that sees it, where the correspondences put it.
        var expected = (await _served.App.Services.GetRequiredService<SegmentQueries>().GetAsync(segmentId, CancellationToken.None))!.Images
            .Count(i => Sees(Path.Combine(_served.Artifacts, segment.ArtifactKey, "correspondence", $"{i.Slot}.npy"), picked));
        Assert.True(expected >= 1 || picked != target, "the target point is seen by image 0");
        await Expect(page.Locator(".images .marker")).ToHaveCountAsync(expected);
        await Screenshot(page, "segment-viewer-picked");

        // A dataset version of those segments on the datasets page, and its members.
        var version = await _served.App.Services.GetRequiredService<DatasetCatalog>().CreateAsync("rooms", "labelled",
            Core.Datasets.DatasetSplits.Parse("train=0.5,val=0.5"), 3, CancellationToken.None);
        await page.GotoAsync(_served.Url + "/#/datasets");
        await Expect(page.Locator("#datasets tbody tr")).ToHaveCountAsync(1);
        await Expect(page.Locator("#datasets tbody tr")).ToContainTextAsync("rooms@1");
        await page.Locator("#datasets tbody a").First.ClickAsync();
        await Expect(page.Locator("#members tbody tr")).ToHaveCountAsync(version.Segments);

        // A training run's loss curve, extended live as the run records steps.
        var store = _served.App.Services.GetRequiredService<TrainingRunStore>();
        var run = await store.StartAsync(new TrainingRunStart("pretrain", Path.Combine(_served.Artifacts, "train-run"), version.Id, version.Label, "{}", "hash",
            "tiny", 1, 20, null), CancellationToken.None);
        async Task Record(int from, int to)
        {
            for (var step = from; step <= to; step++)
                await store.RecordAsync(run, new TrainingMetricRow(step, 0, step, 0.001, 0.04,
                    new Dictionary<string, double> { ["loss"] = 8.0 / step, ["cross_modal"] = 4.0 / step }), CancellationToken.None);
        }

        await Record(1, 5);
        await page.GotoAsync(_served.Url + $"/#/training/{run}");
        var curve = page.Locator("#loss-chart polyline[data-loss=loss]");
        await Expect(curve).ToHaveCountAsync(1);
        Assert.Equal(5, (await curve.GetAttributeAsync("points"))!.Split(' ').Length);
        await Record(6, 12);
        await page.WaitForFunctionAsync("() => document.querySelector('#loss-chart polyline[data-loss=loss]')?.getAttribute('points').split(' ').length === 12");
        await Screenshot(page, "training-run");
        Assert.True(errors.Count == 0, "page errors: " + string.Join("; ", errors));
    }

    [Fact]
    public async Task Overview_ARunThatEndedWithoutAScene_SaysSoWithTheReason()
    {
        var page = await _browser.NewPageAsync(new BrowserNewPageOptions { ViewportSize = new ViewportSize { Width = 1400, Height = 900 } });
        var submission = await _served.SubmitAsync(await _served.CaptureAsync(seed: 7, frames: 30), ServedPipeline.NoSceneProfile());
        Assert.True(Assert.Single(await _served.WaitAsync(submission.BatchId)).Succeeded);

        await page.GotoAsync(_served.Url + "/");
        var row = page.Locator("#runs tbody tr").First;
        await Expect(row.Locator(".empty-reason")).ToHaveTextAsync("no scene: the profile's reconstruct.method is none");
        await Expect(row.Locator(".stage[data-stage=reconstruct][data-skipped=true]")).ToHaveCountAsync(1);
        await Expect(row.Locator(".stage[data-stage=segment][data-skipped=true]")).ToHaveAttributeAsync("title", "no reconstructed scene");
        await row.Locator("a").First.ClickAsync();
        await Expect(page.Locator("#empty-reason")).ToHaveTextAsync("no scene: the profile's reconstruct.method is none");
        await Expect(page.Locator("#stages tbody tr[data-stage=reconstruct] td.warning")).ToHaveTextAsync("the profile's reconstruct.method is none");
        await Screenshot(page, "run-without-scene");
    }

    private static bool Sees(string correspondences, int point)
    {
        var rows = Npy.Read<float>(correspondences).Data;
        for (var r = 2; r < rows.Length; r += 3)
            if ((int)rows[r] == point) return true;
        return false;
    }

    private sealed class ScreenPoint
    {
        public double X { get; set; }

        public double Y { get; set; }
    }

    private static ILocatorAssertions Expect(ILocator locator) => Assertions.Expect(locator);

    private async Task Screenshot(IPage page, string name)
    {
        var folder = Path.Combine(RepositoryRoot(), "artifacts", "screenshots");
        Directory.CreateDirectory(folder);
        var path = Path.Combine(folder, name + ".png");
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = path, FullPage = true });
        output.WriteLine($"screenshot: {path}");
    }

    private static string RepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "Concerto.Ingest.sln"))) return dir.FullName;
        return Path.GetTempPath();
    }
}
