using Concerto.Ingest.Core.Runtime;
using System.Diagnostics;
using Concerto.Ingest.Train.Data;
using Concerto.Ingest.Train.Model;
using Concerto.Ingest.Train.Views;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Concerto.Ingest.Train.Evaluation;

/// <param name="Epochs">Passes over the training segments' cached features.</param>
/// <param name="Classes">Number of classes; null: the largest label seen + 1.</param>
public sealed record ProbeSettings(int Epochs = 30, double LearningRate = 0.002, double WeightDecay = 0.02, double GridSize = 0.02, int? Classes = null,
    int Seed = 1);

public sealed record ProbeResult(double MeanIoU, double Accuracy, IReadOnlyList<ClassIoU> Classes, long TrainPoints, long EvalPoints, TimeSpan Elapsed);

/// <summary>Linear probing (spec section 3): the encoder is frozen; every point gets its full up-cast features (all
/// stages concatenated at stage 0), or another source's (<see cref="ProbeFeatures"/>), and one Linear layer learns the semantic classes with cross-entropy + Lovasz-softmax
/// (AdamW lr 0.002, weight decay 0.02, cosine decay). Each segment is grid-sampled (first point per 0.02 voxel),
/// centre-shifted, and encoded once without augmentation; the head trains on those cached features, and mIoU is
/// measured on the evaluation segments' grid-sampled points.</summary>
public static class LinearProbe
{
    public static ProbeResult Run(PointTransformerV3 encoder, TrainingDataset dataset, IReadOnlyList<int> trainRows, IReadOnlyList<int> evalRows,
        ProbeSettings settings, Device device, IProgress<string>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(encoder);
        ArgumentNullException.ThrowIfNull(settings);
        encoder.eval();
        return Run(ProbeFeatures.Encoder(encoder, settings.Seed), dataset, trainRows, evalRows, settings, device, progress, cancellationToken);
    }

    /// <summary>The same probe over any per-point features (<see cref="ProbeFeatures"/>): the image teacher's lifted
    /// patch features, or several sources concatenated.</summary>
    public static ProbeResult Run(PointFeatures features, TrainingDataset dataset, IReadOnlyList<int> trainRows, IReadOnlyList<int> evalRows,
        ProbeSettings settings, Device device, IProgress<string>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(features);
        ArgumentNullException.ThrowIfNull(dataset);
        ArgumentNullException.ThrowIfNull(settings);
        NativeHeap.LimitRetention();
        var clock = Stopwatch.StartNew();
        using var scope = NewDisposeScope();
        var train = Encode(features, dataset, trainRows, settings, device, cancellationToken);
        var eval = Encode(features, dataset, evalRows, settings, device, cancellationToken);
        progress?.Report($"encoded {train.Count} training and {eval.Count} evaluation segments in {clock.Elapsed.TotalSeconds:F1} s");
        if (train.Count == 0 || eval.Count == 0) throw new InvalidOperationException("the probe needs labelled training and evaluation segments");
        var classes = settings.Classes ?? (int)(1 + train.Concat(eval).Max(s => s.Labels.max().item<long>()));

        manual_seed(settings.Seed);
        using var head = nn.Linear(train[0].Features.shape[1], classes);
        head.to(device);
        using var optimizer = optim.AdamW(head.parameters(), settings.LearningRate, 0.9, 0.999, 1e-8, settings.WeightDecay);
        var order = Enumerable.Range(0, train.Count).ToArray();
        var random = new Random(settings.Seed);
        var total = settings.Epochs * train.Count;
        var step = 0;
        for (var epoch = 0; epoch < settings.Epochs; epoch++)
        {
            random.Shuffle(order);
            double epochLoss = 0;
            foreach (var i in order)
            {
                cancellationToken.ThrowIfCancellationRequested();
                using var stepScope = NewDisposeScope();
                foreach (var group in optimizer.ParamGroups)
                    group.LearningRate = settings.LearningRate * 0.5 * (1 + Math.Cos(Math.PI * step / total));
                var (inputs, labels) = train[i].Labelled(device);
                var logits = head.forward(inputs);
                var loss = nn.functional.cross_entropy(logits, labels) + SegmentationLosses.LovaszSoftmax(logits.softmax(1), labels);
                optimizer.zero_grad();
                loss.backward();
                optimizer.step();
                epochLoss += loss.item<float>();
                step++;
            }

            progress?.Report($"probe epoch {epoch + 1}/{settings.Epochs}: loss {epochLoss / train.Count:F4}");
        }

        var metrics = new SegmentationMetrics(classes);
        using (no_grad())
        {
            foreach (var sample in eval)
            {
                using var evalScope = NewDisposeScope();
                var predictions = head.forward(sample.Features.to(float32).to(device)).argmax(1).to(int32).cpu().data<int>().ToArray();
                metrics.Add(sample.Labels.to(int32).data<int>().ToArray(), predictions);
            }
        }

        return new ProbeResult(metrics.MeanIoU(), metrics.Accuracy(), metrics.PerClass(), train.Sum(s => s.Count), metrics.Points, clock.Elapsed);
    }

    /// <summary>A segment's cached features (float16 on the CPU, so a large set fits in memory) and labels.</summary>
    private sealed record Encoded(Tensor Features, Tensor Labels)
    {
        public long Count => Labels.shape[0];

        /// <summary>The points with a label (not -1), as float32 on <paramref name="device"/>.</summary>
        public (Tensor Features, Tensor Labels) Labelled(Device device)
        {
            var keep = Labels.ge(0).nonzero().squeeze(1);
            return (Features.index_select(0, keep).to(float32).to(device), Labels.index_select(0, keep).to(device));
        }
    }

    /// <summary>Each segment's features (of its grid-sampled, centre-shifted points), computed once.</summary>
    private static List<Encoded> Encode(PointFeatures features, TrainingDataset dataset, IReadOnlyList<int> rows, ProbeSettings settings, Device device,
        CancellationToken cancellationToken)
    {
        var encoded = new List<Encoded>(rows.Count);
        foreach (var row in rows)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var loaded = dataset.Load(row);
            var kept = GridSample.FirstIndices(loaded.Coord, settings.GridSize);
            var sample = PointSubset.Take(loaded, kept);
            var grid = GridSample.Subset(GridSample.GridCoords(loaded.Coord, settings.GridSize), kept);
            if (sample.Segment is null) throw new InvalidOperationException($"segment {sample.Key} has no labels (segment.npy); the probe needs labelled segments");
            if (!sample.Segment.Any(l => l >= 0)) continue; // no labelled point: nothing to learn or score
            var coord = (float[])sample.Coord.Clone();
            Augmentations.CenterShift(coord);
            using var scope = NewDisposeScope();
            var values = features(sample.With(coord: coord), grid, settings.GridSize, device).to(float16).cpu();
            encoded.Add(new Encoded(values.MoveToOuterDisposeScope(), tensor(sample.Segment.Select(l => (long)l).ToArray()).MoveToOuterDisposeScope()));
        }

        return encoded;
    }
}
