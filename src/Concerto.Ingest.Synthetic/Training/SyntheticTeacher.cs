using Concerto.Ingest.Core.Profiles;
using Concerto.Ingest.Synthetic.Rendering;
using Concerto.Ingest.Synthetic.Scenes;

namespace Concerto.Ingest.Synthetic.Training;

/// <summary>
/// A synthetic image teacher standing in for DINOv2 in synthetic training sets. It is <b>not DINOv2</b> and runs no
/// network: it reads the renderer's ground truth. Like DINOv2's patch tokens, its features encode the semantics of what
/// each patch shows, so a student trained to predict them learns class-aware 3D features and a linear probe can check it.
/// </summary>
/// <remarks>
/// <para>Patches: the teacher grid it is given (DINOv2's 37 x 37 by default, spec section 3), with the crop and
/// pixel-to-patch mapping the featurize stage and the trainer use (<see cref="TeacherGrid.Crop"/>,
/// <see cref="TeacherGrid.PatchOf"/>); tokens are row-major (row x columns + column).</para>
/// <para>Per patch, the input is the normalised histogram of the semantic classes of its pixels (13 classes,
/// <see cref="SemanticClass"/>; pixels whose ray hit nothing do not count, and a patch with none gets a zero histogram)
/// followed by its mean colour as (rgb / 255 - 0.5) * <see cref="ColorWeight"/>. The feature is that 16-value input
/// times a fixed Gaussian N(0, 1) matrix (16 x width, drawn from the seed, shared by every image and scene) plus
/// N(0, noise^2) per channel from a per-image seed. A pure-class patch thus maps to about unit-scale channels; patches
/// of different classes get nearly unrelated vectors, patches of one class nearly parallel ones.</para>
/// </remarks>
public sealed class SyntheticTeacher
{
    /// <summary>The default grid: DINOv2's.</summary>
    public static TeacherGrid DefaultGrid => TeacherGrid.Dinov2;

    /// <summary>Weight of the centred mean colour against the class histogram (whose entries sum to 1).</summary>
    public const double ColorWeight = 0.5;

    /// <summary>Semantic classes in the histogram (<see cref="SemanticClass"/> ids 0..12).</summary>
    public static readonly int Classes = Enum.GetValues<SemanticClass>().Length;

    /// <summary>Inputs per patch: the class histogram then the three colour channels.</summary>
    public static int InputWidth => Classes + 3;

    private readonly float[] _projection; // InputWidth x Width, row-major
    private readonly double _noise;

    public SyntheticTeacher(int width, int seed, double noise, TeacherGrid? grid = null)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(width, 1);
        Grid = grid ?? DefaultGrid;
        if (Grid.Problem() is { } problem) throw new ArgumentException(problem, nameof(grid));
        if (!(noise >= 0 && double.IsFinite(noise))) throw new ArgumentOutOfRangeException(nameof(noise), noise, "must be finite and >= 0");
        Width = width;
        _noise = noise;
        var rng = new Random(seed);
        _projection = new float[InputWidth * width];
        for (var i = 0; i < _projection.Length; i++) _projection[i] = (float)Gaussian(rng);
    }

    /// <summary>Channels per patch feature.</summary>
    public int Width { get; }

    /// <summary>The grid its features are laid out on.</summary>
    public TeacherGrid Grid { get; }

    /// <summary>The <see cref="Grid"/> tokens x <see cref="Width"/> features (row-major tokens) of a rendered frame.</summary>
    public Half[] Featurize(RenderedFrame frame, int noiseSeed)
    {
        ArgumentNullException.ThrowIfNull(frame);
        var inputs = PatchInputs(frame, Grid);
        var tokens = Grid.Tokens;
        var features = new Half[tokens * Width];
        var rng = new Random(noiseSeed);
        var row = new double[Width];
        for (var t = 0; t < tokens; t++)
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

    /// <summary>Per patch of <paramref name="grid"/> (DINOv2's when null), <see cref="InputWidth"/> values: the class
    /// histogram then the weighted centred mean colour.</summary>
    public static double[] PatchInputs(RenderedFrame frame, TeacherGrid? grid = null)
    {
        ArgumentNullException.ThrowIfNull(frame);
        grid ??= DefaultGrid;
        var crop = grid.Crop(frame.Width, frame.Height)
                   ?? throw new ArgumentException($"a {frame.Width}x{frame.Height} image is smaller than the teacher grid ({grid})", nameof(frame));
        var tokens = grid.Tokens;
        var columnOf = new int[crop.Width];
        for (var x = 0; x < crop.Width; x++) columnOf[x] = grid.PatchOf(crop.X + x, crop.Y, frame.Width, frame.Height).Col;
        var classes = new int[tokens * Classes];
        var labelled = new int[tokens];
        var color = new long[tokens * 3];
        var pixels = new int[tokens];
        for (var y = 0; y < crop.Height; y++)
        {
            var patchRow = grid.PatchOf(crop.X, crop.Y + y, frame.Width, frame.Height).Row * grid.Columns;
            for (var x = 0; x < crop.Width; x++)
            {
                var t = patchRow + columnOf[x];
                var i = (crop.Y + y) * frame.Width + crop.X + x;
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

        var inputs = new double[tokens * InputWidth];
        for (var t = 0; t < tokens; t++)
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
