using Concerto.Ingest.Core.Geometry;

namespace Concerto.Ingest.Reconstruction.Vggt;

/// <summary>How a frame is fitted to VGGT's input (vggt/utils/load_fn.py).</summary>
public enum VggtInputMode
{
    /// <summary>Width to the target size, height scaled and rounded to a multiple of 14, centre-cropped to the target
    /// size if taller (1920x1080 -> 518x294).</summary>
    Crop,

    /// <summary>Long side to the target size, short side scaled and rounded to a multiple of 14, padded symmetrically
    /// (white) to target x target (what the public ONNX export expects).</summary>
    Pad,
}

/// <summary>The geometry of VGGT preprocessing for one original frame size: resize, then crop or pad.
/// <para>Pixel convention (as <see cref="PinholeIntrinsics"/>): integer coordinates are pixel centres. The resize is
/// centre-aligned (PIL, OpenCV INTER_CUBIC, torch align_corners=false): x_resized + 0.5 = (x_orig + 0.5) * ScaleX.
/// Crop/pad only shifts: x_net = x_resized + OffsetX (OffsetX = pad left, or minus the crop start). Hence
/// x_orig = (x_net - OffsetX + 0.5) / ScaleX - 0.5, and likewise in y with ScaleY, OffsetY.</para></summary>
public sealed record InputGeometry
{
    public const int Patch = 14;
    public const int DefaultTargetSize = 518;

    private InputGeometry(VggtInputMode mode, int originalWidth, int originalHeight, int resizedWidth, int resizedHeight,
        int offsetX, int offsetY, int networkWidth, int networkHeight)
    {
        Mode = mode;
        OriginalWidth = originalWidth;
        OriginalHeight = originalHeight;
        ResizedWidth = resizedWidth;
        ResizedHeight = resizedHeight;
        OffsetX = offsetX;
        OffsetY = offsetY;
        NetworkWidth = networkWidth;
        NetworkHeight = networkHeight;
    }

    public VggtInputMode Mode { get; }
    public int OriginalWidth { get; }
    public int OriginalHeight { get; }

    /// <summary>Size after the resize, before crop or pad.</summary>
    public int ResizedWidth { get; }
    public int ResizedHeight { get; }

    /// <summary>Network pixel = resized pixel + offset: the pad on the left / top (Pad mode, >= 0) or minus the crop
    /// start (Crop mode, <= 0).</summary>
    public int OffsetX { get; }
    public int OffsetY { get; }

    /// <summary>The network input size (multiples of 14).</summary>
    public int NetworkWidth { get; }
    public int NetworkHeight { get; }

    /// <summary>Resized pixels per original pixel; the two differ slightly because of the rounding to 14.</summary>
    public double ScaleX => (double)ResizedWidth / OriginalWidth;
    public double ScaleY => (double)ResizedHeight / OriginalHeight;

    public static InputGeometry Create(int width, int height, VggtInputMode mode, int targetSize = DefaultTargetSize)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(width);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(height);
        if (targetSize <= 0 || targetSize % Patch != 0)
            throw new ArgumentOutOfRangeException(nameof(targetSize), targetSize, $"the target size must be a positive multiple of {Patch}");

        switch (mode)
        {
            case VggtInputMode.Crop:
            {
                var resizedH = RoundToPatch(height, width, targetSize);
                var cropStart = resizedH > targetSize ? (resizedH - targetSize) / 2 : 0;
                return new(mode, width, height, targetSize, resizedH, 0, -cropStart, targetSize, Math.Min(resizedH, targetSize));
            }

            case VggtInputMode.Pad:
            {
                var (resizedW, resizedH) = width >= height
                    ? (targetSize, RoundToPatch(height, width, targetSize))
                    : (RoundToPatch(width, height, targetSize), targetSize);
                // Pad left/top gets the floor half, as load_fn.py does.
                return new(mode, width, height, resizedW, resizedH, (targetSize - resizedW) / 2, (targetSize - resizedH) / 2,
                    targetSize, targetSize);
            }

            default:
                throw new ArgumentOutOfRangeException(nameof(mode), mode, "unknown VGGT input mode");
        }
    }

    /// <summary>Original-frame pixel of a network-input pixel (centre convention, see the type's remarks).</summary>
    public (double U, double V) NetworkToOriginal(double u, double v) =>
        ((u - OffsetX + 0.5) / ScaleX - 0.5, (v - OffsetY + 0.5) / ScaleY - 0.5);

    public (double U, double V) OriginalToNetwork(double u, double v) =>
        ((u + 0.5) * ScaleX - 0.5 + OffsetX, (v + 0.5) * ScaleY - 0.5 + OffsetY);

    /// <summary>Intrinsics in original-frame pixels from intrinsics in network-input pixels: a camera point projecting to
    /// network pixel p projects to original pixel NetworkToOriginal(p).</summary>
    public PinholeIntrinsics ToOriginal(PinholeIntrinsics network)
    {
        ArgumentNullException.ThrowIfNull(network);
        var (cx, cy) = NetworkToOriginal(network.Cx, network.Cy);
        return new PinholeIntrinsics(OriginalWidth, OriginalHeight, network.Fx / ScaleX, network.Fy / ScaleY, cx, cy);
    }

    /// <summary>round(side * (target / other) / 14) * 14, with Python's round-half-to-even and operation order.</summary>
    private static int RoundToPatch(int side, int other, int target)
    {
        var rounded = (int)Math.Round(side * ((double)target / other) / Patch, MidpointRounding.ToEven) * Patch;
        return rounded > 0
            ? rounded
            : throw new ArgumentException($"a frame with sides {side} and {other} is too elongated: its short side would round to 0 pixels; crop it first");
    }
}
