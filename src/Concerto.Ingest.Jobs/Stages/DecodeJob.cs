using System.Diagnostics;
using System.Text.Json;
using Concerto.Ingest.Core.Pipeline;
using Concerto.Ingest.Core.Profiles;
using Concerto.Ingest.Media.Decode;
using Concerto.Ingest.Storage.Catalog;
using Hangfire;
using Hangfire.Server;
using Microsoft.Extensions.Logging;

namespace Concerto.Ingest.Jobs.Stages;

/// <summary>Stage 2: decode the run's video into scored frames and sampled keyframes. Outputs are written to staging,
/// published with one rename and committed with the rows in one transaction; a re-run replaces them. The reconstruct
/// stage follows.</summary>
public sealed partial class DecodeJob(
    IngestCatalog catalog, StageRunner runner, StageLedger ledger, KeyframeIndex index, KeyframeExtractor extractor, ILogger<DecodeJob> logger)
{
    [Queue(Stage.Decode)]
    [JobDisplayName("decode source {0}")]
    [AutomaticRetry(Attempts = StageRetry.Attempts, DelaysInSeconds = [5, 30, 120])]
    public Task RunAsync(long sourceId, PerformContext? context, CancellationToken cancellationToken) =>
        runner.RunAsync(sourceId, Stage.Decode, after: null, context, work => DecodeAsync(work, work.CancellationToken), cancellationToken);

    private async Task<string?> DecodeAsync(StageWork work, CancellationToken cancellationToken)
    {
        var source = work.Source;
        var video = await catalog.GetVideoInfoAsync(source.VideoId!.Value, cancellationToken).ConfigureAwait(false);
        var profile = ProfileDocument.Parse(await catalog.GetProfileJsonAsync(source.ProfileHash, cancellationToken).ConfigureAwait(false),
            $"profile {source.ProfileHash}");

        var clock = Stopwatch.StartNew();
        DecodeResult result;
        var progress = new StageProgress(ledger, work.RunId, Stage.Decode, work.JobId);
        await using (progress.ConfigureAwait(false))
        {
            result = await extractor.ExtractAsync(source.Path, video, profile.Profile.Decode, work.Staging, new Progress(progress), cancellationToken)
                .ConfigureAwait(false);
        }

        return await work.PublishAsync(async key =>
        {
            var previous = await index.CommitDecodeAsync(work.RunId, work.JobId, key, Metrics(result, clock.Elapsed),
                result.Frames.Select(f => new FrameScoreRow((int)f.FrameIndex, f.Time, (float)f.Sharpness)).ToList(),
                result.Keyframes.Select(k => new KeyframeRow((int)k.FrameIndex, k.Time, (float)k.Sharpness, result.Size.Width,
                    result.Size.Height, $"{key}/{k.FileName}")).ToList(),
                cancellationToken).ConfigureAwait(false);
            LogDecoded(logger, source.Path, result.Frames.Count, result.Keyframes.Count, clock.Elapsed.TotalSeconds);
            return previous;
        }).ConfigureAwait(false);
    }

    private static string Metrics(DecodeResult r, TimeSpan elapsed) => JsonSerializer.Serialize(new
    {
        framesAnalysed = r.Frames.Count,
        keyframes = r.Keyframes.Count,
        width = r.Size.Width,
        height = r.Size.Height,
        analysisFps = r.AnalysisRate,
        seconds = Math.Round(elapsed.TotalSeconds, 3),
        framesPerSecond = Math.Round(r.Frames.Count / Math.Max(elapsed.TotalSeconds, 1e-9), 1),
        meanKeyframeSharpness = r.Keyframes.Count > 0 ? Math.Round(r.Keyframes.Average(k => k.Sharpness), 2) : 0,
    });

    /// <summary>Adapts the extractor's progress to the stage row (frames decoded of frames expected).</summary>
    private sealed class Progress(StageProgress target) : IProgress<DecodeProgress>
    {
        public void Report(DecodeProgress value) => target.Report((value.FramesDecoded, Math.Max(value.FramesExpected, value.FramesDecoded)));
    }

    [LoggerMessage(EventId = 2101, Level = LogLevel.Information, Message = "Decoded {Path}: {Frames} frames analysed, {Keyframes} keyframes in {Seconds:0.00} s")]
    private static partial void LogDecoded(ILogger logger, string path, int frames, int keyframes, double seconds);
}
