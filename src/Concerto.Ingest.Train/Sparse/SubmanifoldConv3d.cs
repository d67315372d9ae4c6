using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Concerto.Ingest.Train.Sparse;

/// <summary>A <see cref="KernelMap"/> as index tensors on a device, for the convolutions of one stage.</summary>
public sealed class KernelMapTensors : IDisposable
{
    private readonly Tensor[] _inputs;
    private readonly Tensor[] _outputs;

    public KernelMapTensors(KernelMap map, Device device)
    {
        ArgumentNullException.ThrowIfNull(map);
        Voxels = map.Voxels;
        _inputs = map.Inputs.Select(i => tensor(i.Select(v => (long)v).ToArray(), device: device)).ToArray();
        _outputs = map.Outputs.Select(o => tensor(o.Select(v => (long)v).ToArray(), device: device)).ToArray();
    }

    public int Voxels { get; }

    public Tensor Inputs(int k) => _inputs[k];

    public Tensor Outputs(int k) => _outputs[k];

    public void Dispose()
    {
        foreach (var t in _inputs.Concat(_outputs)) t.Dispose();
    }
}

/// <summary>Submanifold sparse 3x3x3 convolution: an output at every occupied voxel only, the sum over the occupied
/// neighbours of W[offset] applied to their features, plus a bias. Weight [27, in, out] (offset order of
/// <see cref="KernelMap.Offset"/>), truncated-normal std 0.02 initialisation, zero bias.</summary>
public sealed class SubmanifoldConv3d : nn.Module<Tensor, KernelMapTensors, Tensor>
{
    private readonly Parameter weight;
    private readonly Parameter bias;

    public SubmanifoldConv3d(string name, int inChannels, int outChannels) : base(name)
    {
        weight = new Parameter(empty(KernelMap.Offsets, inChannels, outChannels));
        bias = new Parameter(zeros(outChannels));
        using (no_grad()) TruncatedNormal.Fill_(weight, std: 0.02);
        RegisterComponents();
    }

    public Parameter Weight => weight;

    public Parameter Bias => bias;

    public override Tensor forward(Tensor features, KernelMapTensors map)
    {
        ArgumentNullException.ThrowIfNull(features);
        ArgumentNullException.ThrowIfNull(map);
        using var scope = NewDisposeScope();
        var output = zeros(features.shape[0], bias.shape[0], dtype: features.dtype, device: features.device);
        for (var k = 0; k < KernelMap.Offsets; k++)
        {
            if (map.Inputs(k).shape[0] == 0) continue;
            output = ScatterSum.Rows(output, map.Outputs(k), features.index_select(0, map.Inputs(k)).matmul(weight[k]));
        }

        return (output + bias).MoveToOuterDisposeScope();
    }
}
