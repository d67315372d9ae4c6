using Concerto.Ingest.Train.Sonata;
using TorchSharp;
using static TorchSharp.torch;

namespace Concerto.Ingest.Train.Tests.Sonata;

public sealed class OnlineClusterHeadTests
{
    /// <summary>Recomputes the head from its named parameters: cos(bottleneck embedding, prototype row).</summary>
    [Fact]
    public void Forward_GivesTheCosineBetweenEmbeddingAndEachPrototype()
    {
        using var scope = NewDisposeScope();
        manual_seed(7);
        using var head = new OnlineClusterHead("head", inChannels: 8, hidden: 16, bottleneck: 4, prototypes: 5);
        head.to(float64);
        var p = head.named_parameters().ToDictionary(x => x.name, x => (Tensor)x.parameter);
        Assert.Equal(["fc1.bias", "fc1.weight", "fc2.bias", "fc2.weight", "prototypes"], p.Keys.Order(StringComparer.Ordinal));
        Assert.Equal(new long[] { 5, 4 }, p["prototypes"].shape);
        using (no_grad())
        {
            // Non-zero biases, so the check covers them; prototype rows of very different lengths.
            p["fc1.bias"].copy_(randn(16, dtype: float64));
            p["fc2.bias"].copy_(randn(4, dtype: float64));
            p["prototypes"].mul_(tensor(new[] { 1.0, 10, 0.1, 3, 50 }, dtype: float64).unsqueeze(1));
        }

        var x = randn(6, 8, dtype: float64);
        var logits = head.forward(x);
        Assert.Equal(new long[] { 6, 5 }, logits.shape);

        using (no_grad())
        {
            var hidden = nn.functional.gelu(x.matmul(p["fc1.weight"].t()) + p["fc1.bias"]);
            var z = hidden.matmul(p["fc2.weight"].t()) + p["fc2.bias"];
            var v = p["prototypes"];
            var expected = z.matmul(v.t()) / (z.norm(1, keepdim: true) * v.norm(1, keepdim: true).t());
            Assert.True(allclose(logits, expected, rtol: 1e-10, atol: 1e-12), $"{logits.str()} vs {expected.str()}");
            Assert.True(logits.abs().max().item<double>() <= 1 + 1e-12);

            // g is fixed at 1: rescaling the prototypes changes nothing.
            p["prototypes"].mul_(7);
            Assert.True(allclose(head.forward(x), logits, rtol: 1e-10, atol: 1e-12));
        }
    }

    /// <summary>Gradients reach the prototypes, and, as for any weight-normalised direction, are orthogonal to each
    /// prototype row (only its direction matters).</summary>
    [Fact]
    public void Backward_ReachesThePrototypes_OrthogonalToEachRow()
    {
        using var scope = NewDisposeScope();
        manual_seed(8);
        using var head = new OnlineClusterHead("head", inChannels: 8, hidden: 16, bottleneck: 4, prototypes: 5);
        head.to(float64);
        var target = randn(6, 5, dtype: float64);
        (head.forward(randn(6, 8, dtype: float64)) * target).sum().backward();
        var grad = head.Prototypes.grad;
        Assert.NotNull(grad);
        Assert.True(grad.abs().max().item<double>() > 1e-6);
        var along = (grad * head.Prototypes.detach()).sum(1).abs().max().item<double>();
        Assert.True(along < 1e-12, $"gradient has a component {along} along a prototype");
        foreach (var (name, parameter) in head.named_parameters())
            Assert.True(parameter.grad is not null, $"{name} has no gradient");
    }

    [Fact]
    public void Constructor_InitialisesTruncatedNormalWeightsAndZeroBiases()
    {
        using var scope = NewDisposeScope();
        manual_seed(9);
        using var head = new OnlineClusterHead("head", inChannels: 96, hidden: 512, bottleneck: 64, prototypes: 256);
        foreach (var (name, parameter) in head.named_parameters())
        {
            if (name.EndsWith("bias", StringComparison.Ordinal))
            {
                Assert.Equal(0, parameter.abs().max().item<float>());
                continue;
            }

            var std = parameter.std().item<float>();
            Assert.InRange(std, 0.019, 0.021);
        }

        Assert.Equal(96 * 512 + 512 + 512 * 64 + 64 + 256 * 64, head.parameters().Sum(x => x.numel()));
    }
}
