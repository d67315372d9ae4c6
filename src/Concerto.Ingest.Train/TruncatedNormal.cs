using static TorchSharp.torch;

namespace Concerto.Ingest.Train;

/// <summary>Truncated-normal initialisation, the PTv3/Sonata default (std 0.02, cut-offs -2 and 2 as absolute values, as
/// in PyTorch's <c>trunc_normal_</c>). TorchSharp 0.107's <c>nn.init.trunc_normal_</c> fills the tensor with one constant
/// (the std) instead of random draws, so this draws by the inverse CDF: u uniform on [Phi(alpha), Phi(beta)) with alpha,
/// beta the standardised cut-offs, x = mean + std * sqrt(2) * erfinv(2u - 1), clamped to [a, b].</summary>
public static class TruncatedNormal
{
    /// <summary>Fills <paramref name="tensor"/> in place (without gradients) and returns it.</summary>
    public static Tensor Fill_(Tensor tensor, double std, double mean = 0, double a = -2, double b = 2)
    {
        ArgumentNullException.ThrowIfNull(tensor);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(std);
        if (!(a < b)) throw new ArgumentException($"the lower cut-off {a} must lie below the upper {b}", nameof(a));
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var lower = 2 * NormalCdf((a - mean) / std) - 1;
        var upper = 2 * NormalCdf((b - mean) / std) - 1;
        tensor.uniform_(lower, upper).erfinv_().mul_(std * Math.Sqrt(2)).add_(mean).clamp_(a, b);
        return tensor;
    }

    private static double NormalCdf(double x)
    {
        using var value = tensor(x / Math.Sqrt(2), dtype: ScalarType.Float64);
        using var erf = value.erf();
        return (1 + erf.item<double>()) / 2;
    }
}
