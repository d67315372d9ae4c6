using static Concerto.Ingest.Synthetic.Models.OnnxGraphBuilder;

namespace Concerto.Ingest.Synthetic.Models;

/// <summary>Writes a small ONNX model with the signature of the public DINOv2-with-registers exports
/// (onnx-community/dinov2-with-registers-*): <c>pixel_values</c> [B,3,H,W] in, <c>last_hidden_state</c>
/// [B, 1 + registers + (H/14)(W/14), D] out (CLS, register tokens, then patch tokens row-major), so the featurize stage
/// can be tested and benchmarked without the teacher's weights. The patch tokens are a single 14x14 stride-14 patch
/// embedding, the CLS token is their mean and the registers are constants, all computable from
/// <see cref="Parameters"/>.</summary>
public static class DinoSignatureModel
{
    public const int Patch = 14;

    /// <summary>DINO's pretraining resolution, the input size of a fixed-size export.</summary>
    public const int FixedSide = 518;

    private const int PatchInputs = 3 * Patch * Patch;

    /// <param name="Width">Feature width D (384, 768, 1024, 1536 in the real models).</param>
    /// <param name="Registers">Register tokens after the CLS token; 0 gives plain DINOv2's signature.</param>
    /// <param name="WorkLayers">Token-wise D x D MatMul + ReLU layers whose mean, times zero, is added to the output:
    /// a compute cost for benchmarks that leaves the values alone.</param>
    /// <param name="FixedSize">Input fixed at 518x518 instead of dynamic height and width.</param>
    public sealed record DinoModelSpec(int Width = 384, int Registers = 4, int Seed = 1, int WorkLayers = 0,
        string InputName = "pixel_values", string OutputName = "last_hidden_state", bool FixedSize = false);

    public static void Write(string path, DinoModelSpec spec)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        Validate(spec);
        int d = spec.Width, r = spec.Registers;
        var random = new Random(spec.Seed);
        var (weight, bias, registers) = Parameters(spec, random);

        var g = new OnnxGraphBuilder("dino_signature", "concerto synth (dino signature)");
        g.Input(spec.InputName, spec.FixedSize ? ["batch", 3, FixedSide, FixedSide] : ["batch", 3, "height", "width"]);
        g.Constant("patch_weight", [d, 3, Patch, Patch], weight);
        g.Constant("patch_bias", [d], bias);
        g.Node("Conv", [spec.InputName, "patch_weight", "patch_bias"], ["patch_grid"],
            Ints("kernel_shape", Patch, Patch), Ints("strides", Patch, Patch));
        g.Constant("channels_shape", [3], [0L, d, -1L]);
        g.Node("Reshape", ["patch_grid", "channels_shape"], ["patch_channels"]);
        g.Node("Transpose", ["patch_channels"], ["patches"], Ints("perm", 0, 2, 1));
        g.Node("ReduceMean", ["patches"], ["cls"], Ints("axes", 1), Int("keepdims", 1));

        string[] tokens = ["cls", "patches"];
        if (r > 0)
        {
            // Tied to the batch through the CLS token, so the registers follow B without a Shape/Expand.
            g.Constant("register_values", [1, r, d], registers);
            g.Constant("zero", [], [0f]);
            g.Node("Mul", ["cls", "zero"], ["cls_zero"]);
            g.Node("Add", ["cls_zero", "register_values"], ["registers"]);
            tokens = ["cls", "registers", "patches"];
        }

        var concat = spec.WorkLayers > 0 ? "tokens" : spec.OutputName;
        g.Node("Concat", tokens, [concat], Int("axis", 1));
        if (spec.WorkLayers > 0) AddWork(g, spec, random, concat);

        var sequence = spec.FixedSize ? 1 + r + FixedSide / Patch * (FixedSide / Patch) : (object)"tokens";
        g.Output(spec.OutputName, ["batch", sequence, d]);
        var folder = Path.GetDirectoryName(Path.GetFullPath(path))!;
        Directory.CreateDirectory(folder);
        g.Save(path);
    }

    /// <summary>The weights written by <see cref="Write"/> for <paramref name="spec"/>: patch embedding weight
    /// [D,3,14,14] and bias [D], registers [Registers,D]; patch token (row, col), channel d =
    /// bias[d] + sum over (ch, ky, kx) of weight[d,ch,ky,kx] * input[ch, 14 row + ky, 14 col + kx].</summary>
    public static (float[] Weight, float[] Bias, float[] Registers) Parameters(DinoModelSpec spec)
    {
        Validate(spec);
        return Parameters(spec, new Random(spec.Seed));
    }

    /// <summary>Drawn first from the seed's sequence, so the work layers (drawn after) never change them.</summary>
    private static (float[] Weight, float[] Bias, float[] Registers) Parameters(DinoModelSpec spec, Random random) =>
        (Uniform(random, spec.Width * PatchInputs, PatchInputs), Uniform(random, spec.Width, PatchInputs), Uniform(random, spec.Registers * spec.Width, 1));

    private static void AddWork(OnnxGraphBuilder g, DinoModelSpec spec, Random random, string tokens)
    {
        var d = spec.Width;
        for (var l = 0; l < spec.WorkLayers; l++)
        {
            var input = l == 0 ? "patches" : $"work_{l}";
            g.Constant($"work_weight_{l}", [d, d], Uniform(random, d * d, d));
            g.Node("MatMul", [input, $"work_weight_{l}"], [$"work_linear_{l}"]);
            g.Node("Relu", [$"work_linear_{l}"], [$"work_{l + 1}"]);
        }

        g.Node("ReduceMean", [$"work_{spec.WorkLayers}"], ["work_mean"], Int("keepdims", 0));
        g.Constant("work_zero_factor", [], [0f]);
        g.Node("Mul", ["work_mean", "work_zero_factor"], ["work_zero"]);
        g.Node("Add", [tokens, "work_zero"], [spec.OutputName]);
    }

    private static float[] Uniform(Random random, int count, int fanIn)
    {
        var values = new float[count];
        var bound = (float)Math.Sqrt(1.0 / fanIn);
        for (var i = 0; i < values.Length; i++) values[i] = ((float)random.NextDouble() * 2 - 1) * bound;
        return values;
    }

    private static void Validate(DinoModelSpec spec)
    {
        ArgumentNullException.ThrowIfNull(spec);
        if (spec.Width < 1 || spec.Registers < 0 || spec.WorkLayers < 0)
            throw new ArgumentException($"a DINO signature model needs Width >= 1, Registers >= 0 and WorkLayers >= 0; got {spec}", nameof(spec));
        if (string.IsNullOrWhiteSpace(spec.InputName) || string.IsNullOrWhiteSpace(spec.OutputName) || spec.InputName == spec.OutputName)
            throw new ArgumentException($"a DINO signature model needs two different, non-empty tensor names; got {spec}", nameof(spec));
    }
}
