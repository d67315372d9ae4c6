using System.Globalization;
using TorchSharp;
using static TorchSharp.torch;

namespace Concerto.Ingest.Train;

/// <summary>The device training runs on, and why it is not the one requested when it is not.</summary>
/// <param name="Device">The selected torch device.</param>
/// <param name="FallbackReason">Set when a CUDA request fell back to CPU; null otherwise.</param>
public sealed record TorchDeviceChoice(Device Device, string? FallbackReason);

/// <summary>
/// Chooses the torch device from a setting: "auto" (or empty) takes CUDA when present, "cpu" forces CPU,
/// "cuda" or "cuda:N" asks for a GPU. A GPU request never fails for want of a GPU: it degrades to CPU
/// and says why, so the same settings run on GPU machines and on CPU-only ones.
/// </summary>
public static class TorchDevice
{
    /// <summary>Selects a device for <paramref name="requested"/> on this machine.</summary>
    /// <exception cref="ArgumentException">The setting is not "auto", "cpu", "cuda" or "cuda:N".</exception>
    public static TorchDeviceChoice Select(string? requested) =>
        Select(requested, cuda.is_available(), cuda.device_count());

    // Builds CUDA devices with new Device(...): torch.CUDA would initialise CUDA and throw without it.
    internal static TorchDeviceChoice Select(string? requested, bool cudaAvailable, int cudaDeviceCount)
    {
        var setting = requested?.Trim() ?? string.Empty;
        if (setting.Length == 0 || setting.Equals("auto", StringComparison.OrdinalIgnoreCase))
        {
            return new TorchDeviceChoice(cudaAvailable ? new Device(DeviceType.CUDA, 0) : CPU, null);
        }

        if (setting.Equals("cpu", StringComparison.OrdinalIgnoreCase))
        {
            return new TorchDeviceChoice(CPU, null);
        }

        if (!TryParseCudaIndex(setting, out var index))
        {
            throw new ArgumentException(
                $"Unknown torch device '{requested}'. Use 'auto', 'cpu', 'cuda' or 'cuda:N' (N = GPU index).",
                nameof(requested));
        }

        if (!cudaAvailable)
        {
            return new TorchDeviceChoice(CPU, $"'{setting}' was requested but CUDA is not available here; using CPU.");
        }

        return index < cudaDeviceCount
            ? new TorchDeviceChoice(new Device(DeviceType.CUDA, index), null)
            : new TorchDeviceChoice(CPU, $"'{setting}' was requested but only {cudaDeviceCount} CUDA device(s) exist; using CPU.");
    }

    // "cuda" means GPU 0; "cuda:N" means GPU N.
    private static bool TryParseCudaIndex(string setting, out int index)
    {
        index = 0;
        if (setting.Equals("cuda", StringComparison.OrdinalIgnoreCase))
        {
            return true;
        }

        return setting.StartsWith("cuda:", StringComparison.OrdinalIgnoreCase)
            && int.TryParse(setting.AsSpan(5), NumberStyles.None, CultureInfo.InvariantCulture, out index);
    }
}
