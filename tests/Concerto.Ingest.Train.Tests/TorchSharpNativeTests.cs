using TorchSharp;
using static TorchSharp.torch;

namespace Concerto.Ingest.Train.Tests;

// Real libtorch ops: these only pass when libLibTorchSharp.so loads from the build output.
public sealed class TorchSharpNativeTests
{
    [Fact]
    public void Matmul_ReturnsHandComputedProduct_WhenMultiplyingTwoByTwoMatrices()
    {
        using var scope = NewDisposeScope();
        var a = tensor(new double[] { 1, 2, 3, 4 }, 2, 2);
        var b = tensor(new double[] { 5, 6, 7, 8 }, 2, 2);

        var product = a.matmul(b);

        // [1 2; 3 4] x [5 6; 7 8] = [1*5+2*7, 1*6+2*8; 3*5+4*7, 3*6+4*8]
        Assert.Equal(new long[] { 2, 2 }, product.shape);
        Assert.Equal(new double[] { 19, 22, 43, 50 }, product.data<double>().ToArray());
    }

    [Fact]
    public void Backward_GivesAnalyticGradient_WhenDifferentiatingCubicPlusSine()
    {
        using var scope = NewDisposeScope();
        var x = tensor(new double[] { 1.0, -2.0, 0.5 }, requires_grad: true);

        // f(x) = sum(x^3 + sin(x)), so df/dx = 3x^2 + cos(x).
        var f = (x.pow(3) + x.sin()).sum();
        f.backward();

        var expected = new[] { 1.0, -2.0, 0.5 }.Select(v => (3 * v * v) + Math.Cos(v)).ToArray();
        var gradient = x.grad!.data<double>().ToArray();
        Assert.Equal(expected.Length, gradient.Length);
        for (var i = 0; i < expected.Length; i++)
        {
            Assert.Equal(expected[i], gradient[i], 1e-12);
        }
    }

    [Fact]
    public void NativeLoad_UsesOutputRuntimesCopy_WhenLibraryIsPatchedByBuild()
    {
        using var one = ones(1);
        Assert.Equal(1f, one.item<float>());

        // When the first load fails, TorchSharp loads a consolidated copy from "<bin>/cpu/" instead.
        var expected = Path.Combine(AppContext.BaseDirectory, "runtimes", "linux-x64", "native", "libLibTorchSharp.so");
        var loaded = File.ReadLines("/proc/self/maps")
            .Where(line => line.EndsWith("/libLibTorchSharp.so", StringComparison.Ordinal))
            .Select(line => line[line.IndexOf('/', StringComparison.Ordinal)..])
            .Distinct();
        Assert.Equal([expected], loaded);
    }
}
