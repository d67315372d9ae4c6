namespace Concerto.Ingest.Train.Evaluation;

/// <summary>IoU of one class over the evaluated points.</summary>
public sealed record ClassIoU(int Class, double IoU, long TruePositives, long FalsePositives, long FalseNegatives);

/// <summary>A confusion matrix over points with labels in [0, classes); label -1 is ignored.</summary>
public sealed class SegmentationMetrics(int classes)
{
    private readonly long[] _confusion = new long[classes * classes];

    public int Classes => classes;

    public long Points { get; private set; }

    public void Add(ReadOnlySpan<int> labels, ReadOnlySpan<int> predictions)
    {
        if (labels.Length != predictions.Length) throw new ArgumentException("one prediction per label");
        for (var i = 0; i < labels.Length; i++)
        {
            if (labels[i] < 0) continue;
            if (labels[i] >= classes || (uint)predictions[i] >= (uint)classes)
                throw new ArgumentOutOfRangeException(nameof(labels), $"class {labels[i]} or prediction {predictions[i]} outside [0, {classes})");
            _confusion[labels[i] * classes + predictions[i]]++;
            Points++;
        }
    }

    /// <summary>IoU = TP / (TP + FP + FN) for every class that occurs in the labels.</summary>
    public IReadOnlyList<ClassIoU> PerClass()
    {
        var result = new List<ClassIoU>();
        for (var c = 0; c < classes; c++)
        {
            long tp = _confusion[c * classes + c], fn = 0, fp = 0;
            for (var k = 0; k < classes; k++)
            {
                if (k == c) continue;
                fn += _confusion[c * classes + k];
                fp += _confusion[k * classes + c];
            }

            if (tp + fn == 0) continue;
            result.Add(new ClassIoU(c, (double)tp / (tp + fp + fn), tp, fp, fn));
        }

        return result;
    }

    /// <summary>Mean IoU over the classes present in the labels.</summary>
    public double MeanIoU() => PerClass() is { Count: > 0 } all ? all.Average(c => c.IoU) : 0;

    public double Accuracy()
    {
        long correct = 0;
        for (var c = 0; c < classes; c++) correct += _confusion[c * classes + c];
        return Points == 0 ? 0 : (double)correct / Points;
    }
}
