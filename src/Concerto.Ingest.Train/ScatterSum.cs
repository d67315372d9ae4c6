using static TorchSharp.torch;

namespace Concerto.Ingest.Train;

/// <summary>Row-wise scatter-add without a Scalar argument. TorchSharp's index_add takes its alpha as a Scalar, and a
/// Scalar disposed by an enclosing dispose scope while still cached crashed libtorch (INTERNAL ASSERT in Scalar::equal)
/// during training; scatter_add takes tensors only.</summary>
public static class ScatterSum
{
    /// <summary><paramref name="target"/> with row index[i] of it increased by row i of <paramref name="source"/>
    /// (1-D or 2-D source); a new tensor.</summary>
    public static Tensor Rows(Tensor target, Tensor index, Tensor source)
    {
        ArgumentNullException.ThrowIfNull(target);
        ArgumentNullException.ThrowIfNull(index);
        ArgumentNullException.ThrowIfNull(source);
        var expanded = source.dim() == 1 ? index : index.unsqueeze(1).expand(source.shape[0], source.shape[1]);
        return target.scatter_add(0, expanded, source);
    }
}
