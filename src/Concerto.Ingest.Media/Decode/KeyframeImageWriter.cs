using Concerto.Ingest.Core.Media;
using Concerto.Ingest.Core.Profiles;
using OpenCvSharp;

namespace Concerto.Ingest.Media.Decode;

/// <summary>Encodes rgb24 keyframes to JPEG or PNG files.</summary>
public sealed class KeyframeImageWriter(KeyframeImageFormat format, int jpegQuality) : IDisposable
{
    private readonly Mat _bgr = new();

    public string Extension => format == KeyframeImageFormat.Png ? ".png" : ".jpg";

    public void Write(IntPtr rgb24, FrameSize size, string path)
    {
        using var image = Mat.FromPixelData(size.Height, size.Width, MatType.CV_8UC3, rgb24);
        Cv2.CvtColor(image, _bgr, ColorConversionCodes.RGB2BGR);
        var parameters = format == KeyframeImageFormat.Png
            ? new[] { (int)ImwriteFlags.PngCompression, 3 }
            : new[] { (int)ImwriteFlags.JpegQuality, jpegQuality };
        // Encoded here and written by .NET, so a full disk or a permission problem surfaces as the IOException that says so
        // (OpenCV's imwrite only returns false).
        if (!Cv2.ImEncode(format == KeyframeImageFormat.Png ? ".png" : ".jpg", _bgr, out var encoded, parameters))
            throw new IOException($"could not encode keyframe image {path}");
        File.WriteAllBytes(path, encoded);
    }

    public void Dispose() => _bgr.Dispose();
}
