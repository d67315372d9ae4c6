using Concerto.Ingest.Core.Geometry;

namespace Concerto.Ingest.Reconstruction.Classic.Stereo;

/// <summary>A view at the working resolution: RGB floats (0-255, channels last), grey (0-1), intrinsics there.</summary>
internal sealed record WorkingImage(int Width, int Height, float[] Rgb, float[] Gray, PinholeIntrinsics K, RigidTransform CameraToWorld)
{
    public static WorkingImage Of(StereoView view, int maxSide)
    {
        var (w, h) = PlaneSweepStereo.WorkingSize(view.Width, view.Height, maxSide);
        var rgb = AreaResize(view.Rgb, view.Width, view.Height, w, h);
        var gray = new float[w * h];
        for (var p = 0; p < gray.Length; p++)
            gray[p] = rgb[3 * p] * (float)(0.299 / 255) + rgb[3 * p + 1] * (float)(0.587 / 255) + rgb[3 * p + 2] * (float)(0.114 / 255);
        return new WorkingImage(w, h, rgb, gray, view.Intrinsics.ScaledTo(w, h), view.CameraToWorld);
    }

    public byte[] RgbBytes() => Rgb.Select(v => (byte)Math.Clamp(MathF.Round(v), 0, 255)).ToArray();

    /// <summary>Area (box) downscaling: output pixel (i, j) averages input rows floor(i H / h) to ceil((i + 1) H / h) - 1
    /// and the columns likewise (PyTorch's adaptive average pooling); a copy when the size is unchanged.</summary>
    private static float[] AreaResize(byte[] rgb, int width, int height, int w, int h)
    {
        var result = new float[w * h * 3];
        Parallel.For(0, h, i =>
        {
            var (y0, y1) = (i * height / h, (int)Math.Ceiling((i + 1) * (double)height / h));
            for (var j = 0; j < w; j++)
            {
                var (x0, x1) = (j * width / w, (int)Math.Ceiling((j + 1) * (double)width / w));
                float r = 0, g = 0, b = 0;
                for (var y = y0; y < y1; y++)
                for (var x = x0; x < x1; x++)
                {
                    var q = 3 * (y * width + x);
                    r += rgb[q];
                    g += rgb[q + 1];
                    b += rgb[q + 2];
                }

                float count = (y1 - y0) * (x1 - x0);
                var o = 3 * (i * w + j);
                (result[o], result[o + 1], result[o + 2]) = (r / count, g / count, b / count);
            }
        });
        return result;
    }
}
