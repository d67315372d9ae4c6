using Concerto.Ingest.Synthetic.Rendering;
using Concerto.Ingest.Synthetic.Scenes;

namespace Concerto.Ingest.Synthetic.Training;

/// <summary>
/// A synthetic image teacher standing in for DINOv2 in synthetic training sets. It is <b>not DINOv2</b> and runs no
/// network: it reads the renderer's ground truth. Like DINOv2's patch tokens, its features encode the semantics of what
/// each patch shows, so a student trained to predict them learns class-aware 3D features and a linear probe can check it.
/// </summary>
/// <remarks>
/// <para>Patches: the 37 x 37 grid of the teacher crop that Concerto's DINOv2 sees (spec section 3), with the crop and
/// pixel-to-patch mapping of <c>TeacherPreprocessing.Crop</c> and the trainer's <c>MajorView.PatchCoordinates</c>:
/// side = floor(min(w, h) / 37) * 37 centred at ((w - side) / 2, (h - side) / 2) (integer division); integer pixel p of
/// the crop falls in patch floor(p * 518 / (side * 14)). Tokens are row-major (row * 37 + col), 1369 per image.</para>
/// <para>Per patch, the input is the normalised histogram of the semantic classes of its pixels (13 classes,
/// <see cref="SemanticClass"/>; pixels whose ray hit nothing do not count, and a patch with none gets a zero histogram)
/// followed by its mean colour as (rgb / 255 - 0.5) * <see cref="ColorWeight"/>. The feature is that 16-value input
/// times a fixed Gaussian N(0, 1) matrix (16 x width, drawn from the seed, shared by every image and scene) plus
/// N(0, noise^2) per channel from a per-image seed. A pure-class patch thus maps to about unit-scale channels; patches
/// of different classes get nearly unrelated vectors, patches of one class nearly parallel ones.</para>
/// </remarks>
public sealed class SyntheticTeacher
{
    public const int PatchesPerSide = 37;
    public const int PatchTokens = PatchesPerSide * PatchesPerSide;

    /// <summary>The DINOv2 input side and patch size the pixel-to-patch mapping follows.</summary>
    public const int ImageSize = 518;
    public const int PatchSize = 14;

    /// <summary>Weight of the centred mean colour against the class histogram (whose entries sum to 1).</summary>
    public const double ColorWeight = 0.5;

    /// <summary>Semantic classes in the histogram (<see cref="SemanticClass"/> ids 0..12).</summary>
    public static readonly int Classes = Enum.GetValues<SemanticClass>().Length;

    /// <summary>Inputs per patch: the class histogram then the three colour channels.</summary>
    public static int InputWidth => Classes + 3;

    private readonly float[] _projection; // InputWidth x Width, row-major
    private readonly double _noise;

    public SyntheticTeacher(int width, int seed, double noise)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(width, 1);
        if (!(noise >= 0 && double.IsFinite(noise))) throw new ArgumentOutOfRangeException(nameof(noise), noise, "must be finite and >= 0");
        Width = width;
        _noise = noise;
        var rng = new Random(seed);
        _projection = new float[InputWidth * width];
        for (var i = 0; i < _projection.Length; i++) _projection[i] = (float)Gaussian(rng);
    }

    /// <summary>Channels per patch feature.</summary>
    public int Width { get; }

    /// <summary>The teacher crop of a width x height image: left, top and side in pixels.</summary>
    public static (int Left, int Top, int Side) Crop(int width, int height)
    {
        var side = Math.Min(width, height) / PatchesPerSide * PatchesPerSide;
        if (side == 0) throw new ArgumentException($"a {width}x{height} image is smaller than the {PatchesPerSide} px crop unit");
        return ((width - side) / 2, (height - side) / 2, side);
    }

    /// <summary>The patch index along one axis of crop pixel <paramref name="p"/> (0 &lt;= p &lt; side).</summary>
    public static int PatchOf(int p, int side) => (int)((long)p * ImageSize / ((long)side * PatchSize));

    /// <summary>The 1369 x <see cref="Width"/> features (row-major tokens) of a rendered frame.</summary>
    public Half[] Featurize(RenderedFrame frame, int noiseSeed)
    {
        ArgumentNullException.ThrowIfNull(frame);
        var inputs = PatchInputs(frame);
        var features = new Half[PatchTokens * Width];
        var rng = new Random(noiseSeed);
        var row = new double[Width];
        for (var t = 0; t < PatchTokens; t++)
        {
            Array.Clear(row);
            for (var i = 0; i < InputWidth; i++)
            {
                var x = inputs[t * InputWidth + i];
                if (x == 0) continue;
                for (var c = 0; c < Width; c++) row[c] += x * _projection[i * Width + c];
            }

            for (var c = 0; c < Width; c++) features[t * Width + c] = (Half)(row[c] + _noise * Gaussian(rng));
        }

        return features;
    }

    /// <summary>Per patch, <see cref="InputWidth"/> values: the class histogram then the weighted centred mean colour.</summary>
    public static double[] PatchInputs(RenderedFrame frame)
    {
        ArgumentNullException.ThrowIfNull(frame);
        var (left, top, side) = Crop(frame.Width, frame.Height);
        var classes = new int[PatchTokens * Classes];
        var labelled = new int[PatchTokens];
        var color = new long[PatchTokens * 3];
        var pixels = new int[PatchTokens];
        for (var y = 0; y < side; y++)
        {
            var patchRow = PatchOf(y, side) * PatchesPerSide;
            for (var x = 0; x < side; x++)
            {
                var t = patchRow + PatchOf(x, side);
                var i = (top + y) * frame.Width + left + x;
                var label = frame.Semantic[i];
                if (label < Classes)
                {
                    classes[t * Classes + label]++;
                    labelled[t]++;
                }

                for (var c = 0; c < 3; c++) color[3 * t + c] += frame.Rgb[3 * i + c];
                pixels[t]++;
            }
        }

        var inputs = new double[PatchTokens * InputWidth];
        for (var t = 0; t < PatchTokens; t++)
        {
            for (var k = 0; labelled[t] > 0 && k < Classes; k++) inputs[t * InputWidth + k] = (double)classes[t * Classes + k] / labelled[t];
            for (var c = 0; c < 3; c++) inputs[t * InputWidth + Classes + c] = ColorWeight * ((double)color[3 * t + c] / (255.0 * pixels[t]) - 0.5);
        }

        return inputs;
    }

    /// <summary>A standard normal draw (Box-Muller).</summary>
    internal static double Gaussian(Random rng)
    {
        var u = 1.0 - rng.NextDouble(); // (0, 1]
        var v = rng.NextDouble();
        return Math.Sqrt(-2 * Math.Log(u)) * Math.Cos(2 * Math.PI * v);
    }
}
