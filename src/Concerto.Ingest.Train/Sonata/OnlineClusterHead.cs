using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Concerto.Ingest.Train.Sonata;

/// <summary>Sonata's OnlineCluster head (shared/spec/concerto.md section 2): Linear(in, hidden) -> GELU ->
/// Linear(hidden, bottleneck) -> L2 normalise -> weight-normalised Linear(bottleneck, prototypes, no bias, g fixed at 1).
/// With g fixed at 1 the weight normalisation reduces to L2-normalising each prototype row in the forward pass, so the
/// output is the cosine between the point's embedding and each prototype, in [-1, 1]. Linear weights and prototypes are
/// truncated-normal std 0.02 (<see cref="TruncatedNormal"/>), biases zero.</summary>
public sealed class OnlineClusterHead : nn.Module<Tensor, Tensor>
{
    private readonly Linear fc1;
    private readonly Linear fc2;
    private readonly Parameter prototypes;

    public OnlineClusterHead(string name, int inChannels, int hidden = 4096, int bottleneck = 256, int prototypes = 4096) : base(name)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(inChannels);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(hidden);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(bottleneck);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(prototypes);
        fc1 = nn.Linear(inChannels, hidden);
        fc2 = nn.Linear(hidden, bottleneck);
        this.prototypes = new Parameter(empty(prototypes, bottleneck));
        using (no_grad())
        {
            foreach (var linear in new[] { fc1, fc2 })
            {
                TruncatedNormal.Fill_(linear.weight!, std: 0.02);
                nn.init.zeros_(linear.bias!);
            }

            TruncatedNormal.Fill_(this.prototypes, std: 0.02);
        }

        RegisterComponents();
    }

    /// <summary>The prototype directions [prototypes, bottleneck] (the weight-norm "v"; rows are normalised in
    /// the forward pass, so their lengths do not matter).</summary>
    public Parameter Prototypes => prototypes;

    /// <summary>Point features [N, in] to cosine logits [N, prototypes].</summary>
    public override Tensor forward(Tensor features)
    {
        ArgumentNullException.ThrowIfNull(features);
        using var scope = NewDisposeScope();
        var embedding = Embed(features);
        var directions = nn.functional.normalize(prototypes, p: 2, dim: 1);
        return embedding.matmul(directions.t()).MoveToOuterDisposeScope();
    }

    /// <summary>The L2-normalised bottleneck embedding [N, bottleneck] that the prototypes score.</summary>
    public Tensor Embed(Tensor features)
    {
        ArgumentNullException.ThrowIfNull(features);
        using var scope = NewDisposeScope();
        var hidden = nn.functional.gelu(fc1.forward(features));
        return nn.functional.normalize(fc2.forward(hidden), p: 2, dim: 1).MoveToOuterDisposeScope();
    }
}
