using System.Diagnostics;
using Concerto.Ingest.Formats.Arrays;

namespace Concerto.Ingest.Features.Teacher;

/// <summary>One image to featurize and where its features go (relative to the output folder).</summary>
public sealed record FeatureImage(string ImagePath, string OutputFile);

/// <summary>Images featurized, wall time, and the time spent inside InferenceSession.Run.</summary>
public sealed record FeaturizeTiming(int Images, TimeSpan Wall, double RunSeconds)
{
    public double ImagesPerSecond => Images / Math.Max(Wall.TotalSeconds, 1e-9);
    public double ShareOutsideRun => Wall.TotalSeconds <= 0 ? 0 : Math.Max(0, 1 - RunSeconds / Wall.TotalSeconds);
}

/// <summary>Runs the teacher on images in batches and writes each image's patch features as a float16 npy of
/// [patch tokens, width], or, with augmented copies, [1 + copies, patch tokens, width] (the plain features first, then
/// each copy from an augmented image, seeded by the output name). The next batch is read and preprocessed while the
/// current one runs, and files are written off the inference thread, so the model waits on disk as little as
/// possible.</summary>
public static class ImageFeaturizer
{
    public static async Task<FeaturizeTiming> RunAsync(TeacherModel model, IReadOnlyList<FeatureImage> images, string outputFolder,
        IProgress<int>? progress, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(images);
        var clock = Stopwatch.StartNew();
        var settings = model.Settings;
        var copies = 1 + settings.AugmentedCopies;
        var imageValues = 3 * settings.InputHeight * settings.InputWidth * copies;
        var batches = images.Chunk(Math.Max(1, settings.BatchSize / copies)).ToList();
        double runSeconds = 0;
        var done = 0;
        var writes = new List<Task>();

        Task<float[]> Load(FeatureImage[] batch) => Task.Run(() =>
        {
            var values = new float[batch.Length * imageValues];
            try
            {
                Parallel.For(0, batch.Length, new ParallelOptions { CancellationToken = cancellationToken },
                    i => TeacherPreprocessing.LoadCopies(batch[i].ImagePath, settings, values.AsSpan(i * imageValues, imageValues),
                        copy => new Random(TeacherAugmentation.Seed(batch[i].OutputFile, copy))));
            }
            catch (AggregateException e) when (e.InnerExceptions.Count > 0)
            {
                // The first image's own error (it names the file), not the parallel loop's wrapper.
                System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(e.InnerExceptions[0]);
            }

            return values;
        }, cancellationToken);

        var next = batches.Count > 0 ? Load(batches[0]) : null;
        for (var b = 0; b < batches.Count; b++)
        {
            var batch = batches[b];
            var input = await next!.ConfigureAwait(false);
            next = b + 1 < batches.Count ? Load(batches[b + 1]) : null;
            var (features, seconds) = model.Run(input, batch.Length * copies);
            runSeconds += seconds;
            writes.Add(Task.Run(() =>
            {
                for (var i = 0; i < batch.Length; i++)
                {
                    var path = Path.Combine(outputFolder, batch[i].OutputFile);
                    Directory.CreateDirectory(Path.GetDirectoryName(path)!);
                    if (copies == 1)
                    {
                        Npy.Write<Half>(path, features[i], settings.PatchTokens, model.Width);
                        continue;
                    }

                    var all = new Half[copies * features[i * copies].Length];
                    for (var c = 0; c < copies; c++) features[i * copies + c].CopyTo(all, c * features[i * copies].Length);
                    Npy.Write<Half>(path, all, copies, settings.PatchTokens, model.Width);
                }
            }, cancellationToken));
            done += batch.Length;
            progress?.Report(done);
        }

        await Task.WhenAll(writes).ConfigureAwait(false);
        return new FeaturizeTiming(images.Count, clock.Elapsed, runSeconds);
    }
}
