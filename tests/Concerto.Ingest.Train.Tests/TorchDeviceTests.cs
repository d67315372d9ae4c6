using TorchSharp;

namespace Concerto.Ingest.Train.Tests;

public sealed class TorchDeviceTests
{
    [Fact]
    public void Select_FallsBackToCpuWithReason_WhenCudaRequestedOnThisMachine()
    {
        // TorchSharp-cpu carries no CUDA backend, so this holds on every machine the project builds on.
        var choice = TorchDevice.Select("cuda");

        Assert.Equal(DeviceType.CPU, choice.Device.type);
        Assert.NotNull(choice.FallbackReason);
        Assert.Contains("CUDA is not available", choice.FallbackReason, StringComparison.Ordinal);
    }

    [Fact]
    public void Select_ReturnsCpuWithoutReason_WhenAutoOnThisMachine()
    {
        var choice = TorchDevice.Select(null);

        Assert.Equal(DeviceType.CPU, choice.Device.type);
        Assert.Null(choice.FallbackReason);
    }

    [Fact]
    public void Select_ReturnsCuda_WhenAutoAndCudaAvailable()
    {
        var choice = TorchDevice.Select("auto", cudaAvailable: true, cudaDeviceCount: 1);

        Assert.Equal(DeviceType.CUDA, choice.Device.type);
        Assert.Null(choice.FallbackReason);
    }

    [Fact]
    public void Select_ReturnsRequestedGpu_WhenCudaIndexAvailable()
    {
        var choice = TorchDevice.Select("CUDA:1", cudaAvailable: true, cudaDeviceCount: 2);

        Assert.Equal(DeviceType.CUDA, choice.Device.type);
        Assert.Equal(1, choice.Device.index);
        Assert.Null(choice.FallbackReason);
    }

    [Fact]
    public void Select_FallsBackToCpuWithReason_WhenCudaIndexOutOfRange()
    {
        var choice = TorchDevice.Select("cuda:2", cudaAvailable: true, cudaDeviceCount: 2);

        Assert.Equal(DeviceType.CPU, choice.Device.type);
        Assert.Contains("only 2 CUDA device(s)", choice.FallbackReason, StringComparison.Ordinal);
    }

    [Fact]
    public void Select_ReturnsCpu_WhenCpuForcedAndCudaAvailable()
    {
        var choice = TorchDevice.Select(" cpu ", cudaAvailable: true, cudaDeviceCount: 1);

        Assert.Equal(DeviceType.CPU, choice.Device.type);
        Assert.Null(choice.FallbackReason);
    }

    [Theory]
    [InlineData("tpu")]
    [InlineData("cuda:")]
    [InlineData("cuda:-1")]
    public void Select_ThrowsNamingTheSetting_WhenDeviceUnknown(string requested)
    {
        var error = Assert.Throws<ArgumentException>(() => TorchDevice.Select(requested, cudaAvailable: true, cudaDeviceCount: 1));

        Assert.Equal("requested", error.ParamName);
        Assert.Contains($"'{requested}'", error.Message, StringComparison.Ordinal);
    }
}
