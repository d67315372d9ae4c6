using Concerto.Ingest.Core.Pipeline;
using Concerto.Ingest.Storage.Catalog;
using Concerto.Ingest.TestSupport;

namespace Concerto.Ingest.Storage.Tests.Catalog;

public sealed class KeyframeIndexTests(TestDatabase database) : IClassFixture<TestDatabase>
{
    private static readonly CancellationToken None = CancellationToken.None;
    private readonly StageLedger _ledger = new(database.DataSource);
    private readonly KeyframeIndex _index = new(database.DataSource);

    [Fact]
    public async Task CommitDecodeAsync_StoresAllRowsAndSucceedsStage_WhenJobHoldsStage()
    {
        var run = await CatalogSeed.ProbedRunAsync(database.DataSource);
        Assert.True(await _ledger.ClaimsAsync(run.RunId, Stage.Decode, "job-a", run.BatchId, false, "w1", None));
        var frames = Frames(1000, step: 1, sharpnessBase: 3f);
        var keyframes = Keyframes(frames, every: 100, "runs/1/decode/a");

        var previous = await _index.CommitDecodeAsync(run.RunId, "job-a", "runs/1/decode/a", """{"frames":1000}""", frames, keyframes, None);

        Assert.Null(previous);
        Assert.Equal(10, keyframes.Count);
        Assert.Equal(1000, await CountFramesAsync(run.RunId));
        Assert.Equal(frames.Sum(f => (double)f.Sharpness), await SumSharpnessAsync(run.RunId), 3);
        Assert.Equal(keyframes, await _index.ListKeyframesAsync(run.RunId, None));
        var stage = await CatalogSeed.ReadStageAsync(database.DataSource, run.RunId);
        Assert.Equal(StageState.Succeeded, stage.State);
        Assert.Equal("runs/1/decode/a", stage.ArtifactKey);
        Assert.True(stage.Finished);
        Assert.Equal(1000, await database.CountAsync("SELECT (metrics->>'frames')::int FROM run_stages WHERE run_id = $1 AND stage = 'decode'", run.RunId));
    }

    [Fact]
    public async Task CommitDecodeAsync_ReplacesRowsAndReturnsPreviousKey_WhenStageIsRerun()
    {
        var run = await CatalogSeed.ProbedRunAsync(database.DataSource);
        await ClaimAndCommitAsync(run.RunId, "job-a", run.BatchId, force: false, "runs/2/decode/a", Frames(1000, 1, 3f), every: 100);

        // A forced re-run with a different sampling: every other frame index, overlapping the old ones.
        var rerunBatch = await CatalogSeed.NewBatchAsync(database.DataSource, force: true);
        Assert.True(await _ledger.ClaimsAsync(run.RunId, Stage.Decode, "job-b", rerunBatch, true, "w2", None));
        var frames = Frames(600, step: 2, sharpnessBase: 50f);
        var keyframes = Keyframes(frames, every: 90, "runs/2/decode/b");
        var previous = await _index.CommitDecodeAsync(run.RunId, "job-b", "runs/2/decode/b", "{}", frames, keyframes, None);

        Assert.Equal("runs/2/decode/a", previous);
        Assert.Equal(600, await CountFramesAsync(run.RunId));
        Assert.Equal(600, await database.CountAsync("SELECT count(DISTINCT frame_index) FROM frame_scores WHERE run_id = $1", run.RunId));
        Assert.Equal(0, await database.CountAsync("SELECT count(*) FROM frame_scores WHERE run_id = $1 AND frame_index % 2 = 1", run.RunId));
        Assert.Equal(1198, await database.CountAsync("SELECT max(frame_index) FROM frame_scores WHERE run_id = $1", run.RunId));
        Assert.Equal(frames.Sum(f => (double)f.Sharpness), await SumSharpnessAsync(run.RunId), 3);
        Assert.Equal(7, keyframes.Count);
        Assert.Equal(keyframes, await _index.ListKeyframesAsync(run.RunId, None));
        Assert.Equal("runs/2/decode/b", (await CatalogSeed.ReadStageAsync(database.DataSource, run.RunId)).ArtifactKey);
    }

    [Fact]
    public async Task CommitDecodeAsync_ReturnsNull_WhenRerunPublishesUnderSameKey()
    {
        var run = await CatalogSeed.ProbedRunAsync(database.DataSource);
        await ClaimAndCommitAsync(run.RunId, "job-a", run.BatchId, force: false, "runs/3/decode/same", Frames(20, 1, 1f), every: 5);
        var rerunBatch = await CatalogSeed.NewBatchAsync(database.DataSource, force: true);
        Assert.True(await _ledger.ClaimsAsync(run.RunId, Stage.Decode, "job-b", rerunBatch, true, "w2", None));

        var previous = await _index.CommitDecodeAsync(run.RunId, "job-b", "runs/3/decode/same", "{}", Frames(10, 1, 2f), [], None);

        Assert.Null(previous);
        Assert.Equal(10, await CountFramesAsync(run.RunId));
        Assert.Empty(await _index.ListKeyframesAsync(run.RunId, None));
    }

    [Fact]
    public async Task CommitDecodeAsync_ThrowsAndKeepsPreviousRows_WhenJobNoLongerHoldsStage()
    {
        var run = await CatalogSeed.ProbedRunAsync(database.DataSource);
        var kept = await ClaimAndCommitAsync(run.RunId, "job-a", run.BatchId, force: false, "runs/4/decode/a", Frames(1000, 1, 3f), every: 100);
        var rerunBatch = await CatalogSeed.NewBatchAsync(database.DataSource, force: true);
        Assert.True(await _ledger.ClaimsAsync(run.RunId, Stage.Decode, "job-b", rerunBatch, true, "w2", None));

        // job-a finished long ago and job-b holds the stage now: a late commit from job-a must change nothing.
        var stale = Frames(300, step: 3, sharpnessBase: 99f);
        var e = await Assert.ThrowsAsync<InvalidOperationException>(() =>
            _index.CommitDecodeAsync(run.RunId, "job-a", "runs/4/decode/stale", "{}", stale, Keyframes(stale, 50, "runs/4/decode/stale"), None));

        Assert.Contains("job-a", e.Message, StringComparison.Ordinal);
        Assert.Equal(1000, await CountFramesAsync(run.RunId));
        Assert.Equal(kept.Frames.Sum(f => (double)f.Sharpness), await SumSharpnessAsync(run.RunId), 3);
        Assert.Equal(kept.Keyframes, await _index.ListKeyframesAsync(run.RunId, None));
        var stage = await CatalogSeed.ReadStageAsync(database.DataSource, run.RunId);
        Assert.Equal(StageState.Running, stage.State);
        Assert.Equal("job-b", stage.OwnerJob);
        Assert.Equal("runs/4/decode/a", stage.ArtifactKey);
    }

    private async Task<(List<FrameScoreRow> Frames, List<KeyframeRow> Keyframes)> ClaimAndCommitAsync(
        long runId, string jobId, long batchId, bool force, string artifactKey, List<FrameScoreRow> frames, int every)
    {
        Assert.True(await _ledger.ClaimsAsync(runId, Stage.Decode, jobId, batchId, force, "w", None));
        var keyframes = Keyframes(frames, every, artifactKey);
        await _index.CommitDecodeAsync(runId, jobId, artifactKey, "{}", frames, keyframes, None);
        return (frames, keyframes);
    }

    private Task<long> CountFramesAsync(long runId) =>
        database.CountAsync("SELECT count(*) FROM frame_scores WHERE run_id = $1", runId);

    private async Task<double> SumSharpnessAsync(long runId)
    {
        await using var command = database.DataSource.CreateCommand("SELECT sum(sharpness::double precision) FROM frame_scores WHERE run_id = $1");
        command.Parameters.Add(new Npgsql.NpgsqlParameter { Value = runId });
        return (double)(await command.ExecuteScalarAsync(None))!;
    }

    private static List<FrameScoreRow> Frames(int count, int step, float sharpnessBase) =>
        Enumerable.Range(0, count)
            .Select(i => new FrameScoreRow(i * step, i * step / 30.0, sharpnessBase + (i % 97) * 0.25f))
            .ToList();

    private static List<KeyframeRow> Keyframes(List<FrameScoreRow> frames, int every, string artifactKey) =>
        frames.Where((_, i) => i % every == 0)
            .Select(f => new KeyframeRow(f.FrameIndex, f.Time, f.Sharpness, 518, 292, $"{artifactKey}/{f.FrameIndex:D6}.jpg"))
            .ToList();
}
