using Concerto.Ingest.Core.Pipeline;
using Concerto.Ingest.Storage.Catalog;
using Concerto.Ingest.TestSupport;

namespace Concerto.Ingest.Storage.Tests.Catalog;

public sealed class StatusQueriesTests(TestDatabase database) : IClassFixture<TestDatabase>
{
    private static readonly CancellationToken None = CancellationToken.None;
    private readonly StatusQueries _queries = new(database.DataSource);

    [Fact]
    public async Task BatchProgressAsync_ShowsDecodeOutcomeAndRejects_WhenBatchHasDecodedAndBadSources()
    {
        var catalog = new IngestCatalog(database.DataSource);
        await catalog.EnsureProfileAsync(CatalogSeed.DefaultProfile, None);
        var (batchId, sourceIds) = await catalog.CreateBatchAsync(CatalogSeed.DefaultProfile.Hash, false, ["/videos/good.mp4", "/videos/bad.mp4"], None);
        var runId = await catalog.CompleteProbeAsync(sourceIds[0], CatalogSeed.DefaultProfile.Hash,
            System.Security.Cryptography.RandomNumberGenerator.GetBytes(32), 10, "/videos/good.mp4", CatalogSeed.SampleVideo, "probe-worker", None);
        await catalog.FailSourceAsync(sourceIds[1], SourceState.Rejected, "/videos/bad.mp4: not a readable video", None);
        Assert.True(await new StageLedger(database.DataSource).ClaimsAsync(runId, Stage.Decode, "job-a", batchId, false, "w", None));
        var frames = Enumerable.Range(0, 30).Select(i => new FrameScoreRow(i, i / 30.0, 20f)).ToList();
        await new KeyframeIndex(database.DataSource).CommitDecodeAsync(runId, "job-a", "runs/s/decode/a", "{}", frames,
            [new KeyframeRow(0, 0, 20f, 518, 292, "runs/s/decode/a/000000.jpg"), new KeyframeRow(15, 0.5, 20f, 518, 292, "runs/s/decode/a/000015.jpg")],
            None);
        await catalog.SetSourceStateAsync(sourceIds[0], SourceState.Succeeded, None);

        var progress = await _queries.BatchProgressAsync(batchId, None);

        Assert.Equal(sourceIds, progress.Select(p => p.SourceId));
        var good = progress[0];
        Assert.Equal((runId, Stage.Reconstruct, StageState.Pending, 2), (good.RunId!.Value, good.ActiveStage, good.ActiveState, good.Keyframes));
        Assert.True(good.IsFinished);
        Assert.True(good.Succeeded);
        var bad = progress[1];
        Assert.Null(bad.RunId);
        Assert.Null(bad.ActiveStage);
        Assert.True(bad.IsFinished);
        Assert.False(bad.Succeeded);
        Assert.Equal("/videos/bad.mp4: not a readable video", bad.Error);

        var rejects = await _queries.RecentRejectsAsync(50, None);
        Assert.Contains(rejects, r => r.SourceId == sourceIds[1] && r.Error == bad.Error);
        Assert.DoesNotContain(rejects, r => r.SourceId == sourceIds[0]);

        var recent = await _queries.RecentRunsAsync(50, None);
        var summary = Assert.Single(recent, r => r.RunId == runId);
        Assert.Equal((CatalogSeed.DefaultProfile.Profile.Name, 640, 360, 2), (summary.ProfileName, summary.Width, summary.Height, summary.Keyframes));
        Assert.Equal(Stage.All, summary.Stages.Select(s => s.Stage));           // in pipeline order
        Assert.Equal((StageState.Succeeded, "probe-worker"), (summary.Stages[0].State, summary.Stages[0].Worker));
        Assert.Equal((StageState.Succeeded, "w"), (summary.Stages[1].State, summary.Stages[1].Worker));
    }
}
