using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Concerto.Ingest.Train.CrossModal;

/// <summary>Concerto's 2D-3D joint embedding prediction (spec section 3): the up-cast stage-1 features are averaged per
/// occupied teacher patch slot, mapped by one Linear(C, D_img) (the only predictor), and compared with the frozen image
/// teacher's patch feature by a centred cosine loss, 10 * mean(1 - cos) after subtracting each vector's channel mean.</summary>
public sealed class CrossModalHead : nn.Module<Tensor, long[], long[], Tensor, Tensor>
{
    public const double LossScale = 10;

    private readonly Linear predictor;

    public CrossModalHead(string name, int inChannels, int teacherWidth) : base(name)
    {
        predictor = nn.Linear(inChannels, teacherWidth);
        using (no_grad())
        {
            TruncatedNormal.Fill_(predictor.weight, std: 0.02);
            nn.init.zeros_(predictor.bias!);
        }

        RegisterComponents();
    }

    /// <summary>The loss for points <paramref name="point"/> (rows of <paramref name="features"/>) at slots
    /// <paramref name="slot"/> against <paramref name="teacher"/> [images * grid tokens, D]; a scalar.</summary>
    public override Tensor forward(Tensor features, long[] point, long[] slot, Tensor teacher)
    {
        using var scope = NewDisposeScope();
        var (prediction, target) = Predict(features, point, slot, teacher);
        return CenteredCosineLoss(prediction, target).MoveToOuterDisposeScope();
    }

    /// <summary>Predictions and teacher targets at each occupied slot, in ascending slot order.</summary>
    public (Tensor Prediction, Tensor Target) Predict(Tensor features, long[] point, long[] slot, Tensor teacher)
    {
        ArgumentNullException.ThrowIfNull(features);
        ArgumentNullException.ThrowIfNull(teacher);
        if (point.Length != slot.Length || point.Length == 0) throw new ArgumentException("need one slot per point and at least one");
        var occupied = slot.Distinct().Order().ToArray();
        var position = new Dictionary<long, long>(occupied.Length);
        for (var i = 0; i < occupied.Length; i++) position[occupied[i]] = i;
        var device = features.device;
        var index = tensor(slot.Select(s => position[s]).ToArray(), device: device);
        var sums = ScatterSum.Rows(zeros(occupied.Length, features.shape[1], dtype: features.dtype, device: device), index,
            features.index_select(0, tensor(point, device: device)));
        var counts = ScatterSum.Rows(zeros(occupied.Length, dtype: features.dtype, device: device), index, ones(point.Length, dtype: features.dtype, device: device));
        var prediction = predictor.forward(sums / counts.unsqueeze(1));
        var target = teacher.index_select(0, tensor(occupied, device: device)).to(prediction.dtype);
        return (prediction, target);
    }

    /// <summary>10 * mean(1 - cos(p - mean_c p, t - mean_c t)).</summary>
    public static Tensor CenteredCosineLoss(Tensor prediction, Tensor target)
    {
        using var scope = NewDisposeScope();
        var p = prediction - prediction.mean([-1], keepdim: true);
        var t = target - target.mean([-1], keepdim: true);
        var cosine = nn.functional.cosine_similarity(p, t, dim: -1);
        return (LossScale * (1 - cosine).mean()).MoveToOuterDisposeScope();
    }
}
