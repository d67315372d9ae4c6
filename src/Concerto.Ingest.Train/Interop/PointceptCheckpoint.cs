using System.Collections;
using Concerto.Ingest.Core.Media;
using Concerto.Ingest.Train.Model;
using TorchSharp.PyBridge;
using static TorchSharp.torch;

namespace Concerto.Ingest.Train.Interop;

/// <summary>One encoder parameter under its official name (Pointcept's <c>PT-v3m2</c>, as in
/// pointcept/models/point_transformer_v3/point_transformer_v3m2_sonata.py) and ours, with the official shape.</summary>
/// <param name="SparseConv">A submanifold convolution weight: ours is [27, in, out] in <see cref="Sparse.KernelMap.Offset"/>
/// order, spconv 2's is [out, 3, 3, 3, in] (KRSC) with the kernel axes in the indices' x, y, z order; both read the
/// input at output + (k - 1) per axis (spconv's getValidOutPos: out = in - k + padding), so the 27 offsets map one to
/// one with a reshape and a permute.</param>
public sealed record ParameterName(string Official, string Ours, long[] OfficialShape, bool SparseConv = false);

/// <summary>The encoder as PyTorch users hold it: a <c>torch.load</c>-able file <c>{"config": {...}, "state_dict": {...}}</c>
/// like the official Sonata / Concerto release files, whose config is <c>PointTransformerV3</c>'s (PT-v3m2) keyword
/// arguments and whose state dict uses its parameter names, so <c>PointTransformerV3(**ckpt["config"])
/// .load_state_dict(ckpt["state_dict"])</c> works; and back (a released encoder probed or fine-tuned here). Written and
/// read with TorchSharp.PyBridge (PyTorch's zip format).</summary>
public static class PointceptCheckpoint
{
    public const string ConfigKey = "config";
    public const string StateDictKey = "state_dict";

    /// <summary>Every encoder parameter, official name first, in the official module's registration order.</summary>
    public static IReadOnlyList<ParameterName> Names(PtV3Config config)
    {
        ArgumentNullException.ThrowIfNull(config);
        var names = new List<ParameterName>();
        void Linear(string official, string ours, long outputs, long inputs)
        {
            names.Add(new ParameterName($"{official}.weight", $"{ours}.weight", [outputs, inputs]));
            names.Add(new ParameterName($"{official}.bias", $"{ours}.bias", [outputs]));
        }

        void Norm(string official, string ours, long channels)
        {
            names.Add(new ParameterName($"{official}.weight", $"{ours}.weight", [channels]));
            names.Add(new ParameterName($"{official}.bias", $"{ours}.bias", [channels]));
        }

        long c0 = config.Channels[0];
        Linear("embedding.stem.linear", "embedding", c0, config.InChannels);
        Norm("embedding.stem.norm", "embedding_norm", c0);
        names.Add(new ParameterName("embedding.mask_token", "mask_token", [1, c0]));
        for (var s = 0; s < config.Stages; s++)
        {
            long c = config.Channels[s];
            if (s > 0)
            {
                Linear($"enc.enc{s}.down.proj", $"pooling.{s - 1}.proj", c, config.Channels[s - 1]);
                Norm($"enc.enc{s}.down.norm.0", $"pooling.{s - 1}.norm", c);
            }

            for (var b = 0; b < config.Depths[s]; b++)
            {
                string official = $"enc.enc{s}.block{b}", ours = $"stages.{s}.{b}";
                names.Add(new ParameterName($"{official}.cpe.0.weight", $"{ours}.cpe.conv.weight", [c, 3, 3, 3, c], SparseConv: true));
                names.Add(new ParameterName($"{official}.cpe.0.bias", $"{ours}.cpe.conv.bias", [c]));
                Linear($"{official}.cpe.1", $"{ours}.cpe.linear", c, c);
                Norm($"{official}.cpe.2", $"{ours}.cpe.norm", c);
                Norm($"{official}.norm1.0", $"{ours}.norm1", c);
                Linear($"{official}.attn.qkv", $"{ours}.attn.qkv", 3 * c, c);
                Linear($"{official}.attn.proj", $"{ours}.attn.proj", c, c);
                Norm($"{official}.norm2.0", $"{ours}.norm2", c);
                Linear($"{official}.mlp.0.fc1", $"{ours}.fc1", 4 * c, c);
                Linear($"{official}.mlp.0.fc2", $"{ours}.fc2", c, 4 * c);
            }
        }

        return names;
    }

    /// <summary>PT-v3m2's keyword arguments for this encoder (encoder-only mode with a mask token, as Sonata and
    /// Concerto pretrain it).</summary>
    public static Dictionary<string, object?> Config(PtV3Config config)
    {
        ArgumentNullException.ThrowIfNull(config);
        object[] Tuple(IEnumerable<int> values) => values.Cast<object>().ToArray();
        return new Dictionary<string, object?>
        {
            ["in_channels"] = config.InChannels,
            ["order"] = new object[] { "z", "z-trans", "hilbert", "hilbert-trans" },
            ["stride"] = Tuple(Enumerable.Repeat(2, config.Stages - 1)),
            ["enc_depths"] = Tuple(config.Depths),
            ["enc_channels"] = Tuple(config.Channels),
            ["enc_num_head"] = Tuple(config.Heads),
            ["enc_patch_size"] = Tuple(Enumerable.Repeat(config.PatchSize, config.Stages)),
            ["mlp_ratio"] = 4,
            ["qkv_bias"] = true,
            ["qk_scale"] = null,
            ["attn_drop"] = 0.0,
            ["proj_drop"] = 0.0,
            ["drop_path"] = config.DropPath,
            ["shuffle_orders"] = true,
            ["pre_norm"] = true,
            ["enable_rpe"] = false,
            ["enable_flash"] = true,
            ["upcast_attention"] = false,
            ["upcast_softmax"] = false,
            ["traceable"] = true,
            ["mask_token"] = true,
            ["enc_mode"] = true,
        };
    }

    /// <summary>Writes <paramref name="encoder"/> to <paramref name="path"/> (a new file, written beside it and renamed).</summary>
    public static void Export(PointTransformerV3 encoder, string path)
    {
        ArgumentNullException.ThrowIfNull(encoder);
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        using var scope = NewDisposeScope();
        var ours = encoder.state_dict();
        var names = Names(encoder.Config);
        var unmapped = ours.Keys.Except(names.Select(n => n.Ours)).ToList();
        if (unmapped.Count > 0) throw new InvalidOperationException($"encoder parameters without an official name: {string.Join(", ", unmapped.Take(5))}");
        var stateDict = new Dictionary<string, Tensor>(names.Count);
        foreach (var name in names)
        {
            var value = ours[name.Ours].detach().cpu().to(float32);
            stateDict[name.Official] = (name.SparseConv ? ToSpconv(value) : value).contiguous();
        }

        var full = Path.GetFullPath(path);
        Directory.CreateDirectory(Path.GetDirectoryName(full)!);
        var partial = full + $".partial-{Guid.NewGuid():N}";
        try
        {
            using (var file = File.Create(partial))
                PyTorchPickler.PickleStateDict(file, new Hashtable { [ConfigKey] = Config(encoder.Config), [StateDictKey] = stateDict });
            File.Move(partial, full, overwrite: true);
        }
        finally
        {
            File.Delete(partial);
        }
    }

    /// <summary>Reads a file in the official layout and builds the encoder its config describes, loaded with its weights.</summary>
    /// <exception cref="BadInputException">Not a readable PyTorch file, no config or state dict, a config this encoder
    /// cannot express, or names and shapes that differ (the first mismatches listed).</exception>
    public static PointTransformerV3 Open(string path, int? patchSize = null)
    {
        var (config, stateDict) = Read(path);
        PointTransformerV3? encoder = null;
        try
        {
            encoder = new PointTransformerV3("encoder", patchSize is { } p ? config with { PatchSize = p } : config);
            LoadInto(encoder, stateDict, path);
            var loaded = encoder;
            encoder = null; // the caller owns it now
            return loaded;
        }
        finally
        {
            encoder?.Dispose();
            foreach (var t in stateDict.Values) t.Dispose();
        }
    }

    /// <summary>Loads a file's weights into <paramref name="encoder"/>, refusing one whose names or shapes differ.</summary>
    public static void Load(PointTransformerV3 encoder, string path)
    {
        ArgumentNullException.ThrowIfNull(encoder);
        var (_, stateDict) = Read(path);
        try
        {
            LoadInto(encoder, stateDict, path);
        }
        finally
        {
            foreach (var t in stateDict.Values) t.Dispose();
        }
    }

    /// <summary>The file's encoder config (PT-v3m2 keyword arguments mapped back) and its state dict by official name.</summary>
    public static (PtV3Config Config, Dictionary<string, Tensor> StateDict) Read(string path)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        if (!File.Exists(path)) throw new BadInputException($"{path} does not exist; give a .pth file written by torch.save or `concerto export checkpoint`.");
        Hashtable root;
        try
        {
            using var file = File.OpenRead(path);
            root = PyTorchUnpickler.UnpickleStateDict(file);
        }
        catch (Exception e) when (e is not OutOfMemoryException and not OperationCanceledException)
        {
            throw new BadInputException($"{path} is not a PyTorch file this reader understands ({e.Message}); save it with torch.save (zip format).", e);
        }

        if (root[StateDictKey] is not IDictionary stateDict)
            throw new BadInputException($"{path} has no '{StateDictKey}': expected {{'{ConfigKey}': ..., '{StateDictKey}': ...}} as the official Sonata / Concerto releases and `concerto export checkpoint` write.");
        if (root[ConfigKey] is not IDictionary config)
            throw new BadInputException($"{path} has no '{ConfigKey}' with PointTransformerV3's keyword arguments; it is needed to build the encoder.");
        var tensors = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        foreach (DictionaryEntry entry in stateDict)
            if (entry.Key is string key && entry.Value is Tensor value) tensors[key] = value;
        return (ConfigOf(config, path), tensors);
    }

    private static PtV3Config ConfigOf(IDictionary config, string path)
    {
        int[] Ints(string key) => config[key] switch
        {
            IEnumerable values and not string => values.Cast<object>().Select(v => Convert.ToInt32(v, System.Globalization.CultureInfo.InvariantCulture)).ToArray(),
            _ => throw new BadInputException($"{path}: config '{key}' is missing or not a list of integers."),
        };
        bool Flag(string key, bool fallback) => config[key] is bool b ? b : fallback;
        var depths = Ints("enc_depths");
        var channels = Ints("enc_channels");
        var heads = Ints("enc_num_head");
        var patch = config.Contains("enc_patch_size") ? Ints("enc_patch_size") : [1024];
        var inChannels = config["in_channels"] is { } c ? Convert.ToInt32(c, System.Globalization.CultureInfo.InvariantCulture) : 6;
        var problems = new List<string>();
        if (!Flag("enc_mode", false)) problems.Add("enc_mode is not True (a decoder is not supported here; the encoder is what is probed)");
        if (Flag("enable_rpe", false)) problems.Add("enable_rpe is True (relative positions are not implemented)");
        if (config["layer_scale"] is not null and not 0) problems.Add("layer_scale is set (not implemented)");
        if (config["mlp_ratio"] is { } ratio && Convert.ToDouble(ratio, System.Globalization.CultureInfo.InvariantCulture) != 4) problems.Add($"mlp_ratio is {ratio}, not 4");
        if (config["stride"] is IEnumerable strides && strides.Cast<object>().Any(s => Convert.ToInt32(s, System.Globalization.CultureInfo.InvariantCulture) != 2))
            problems.Add("a pooling stride is not 2");
        if (patch.Distinct().Count() > 1) problems.Add($"enc_patch_size differs between stages ({string.Join(", ", patch)})");
        if (problems.Count > 0) throw new BadInputException($"{path}: this encoder cannot be built here: {string.Join("; ", problems)}.");
        var dropPath = config["drop_path"] is { } d ? Convert.ToDouble(d, System.Globalization.CultureInfo.InvariantCulture) : 0.3;
        var named = PtV3Config.Standard.FirstOrDefault(s => s.Depths.SequenceEqual(depths) && s.Channels.SequenceEqual(channels) && s.Heads.SequenceEqual(heads));
        var result = new PtV3Config(named?.Name ?? "custom", depths, channels, heads, patch[0], dropPath, inChannels);
        try
        {
            result.Validate();
        }
        catch (ArgumentException e)
        {
            throw new BadInputException($"{path}: {e.Message}.", e);
        }

        return result;
    }

    /// <summary>Checks every official name and shape, then copies the weights in; lists the first mismatches.</summary>
    private static void LoadInto(PointTransformerV3 encoder, Dictionary<string, Tensor> stateDict, string path)
    {
        var names = Names(encoder.Config);
        var problems = new List<string>();
        foreach (var name in names)
        {
            if (!stateDict.TryGetValue(name.Official, out var value)) problems.Add($"missing {name.Official} {Shape(name.OfficialShape)}");
            else if (!value.shape.SequenceEqual(name.OfficialShape)) problems.Add($"{name.Official} is {Shape(value.shape)}, expected {Shape(name.OfficialShape)}");
        }

        var known = names.Select(n => n.Official).ToHashSet(StringComparer.Ordinal);
        problems.AddRange(stateDict.Keys.Where(k => !known.Contains(k)).Order(StringComparer.Ordinal).Select(k => $"unexpected {k}"));
        if (problems.Count > 0)
            throw new BadInputException($"{path} does not match a PT-v3m2 encoder of {Describe(encoder.Config)}: {problems.Count} mismatches, first: {string.Join("; ", problems.Take(8))}.");

        var ours = encoder.state_dict();
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        foreach (var name in names)
        {
            var value = stateDict[name.Official];
            ours[name.Ours].copy_(name.SparseConv ? FromSpconv(value) : value);
        }
    }

    /// <summary>[27, in, out] (offset k = 9 (dx + 1) + 3 (dy + 1) + dz + 1) to spconv's [out, 3 (x), 3 (y), 3 (z), in].</summary>
    internal static Tensor ToSpconv(Tensor ours)
    {
        var (inputs, outputs) = (ours.shape[1], ours.shape[2]);
        return ours.reshape(3, 3, 3, inputs, outputs).permute(4, 0, 1, 2, 3);
    }

    /// <summary>spconv's [out, 3, 3, 3, in] back to [27, in, out].</summary>
    internal static Tensor FromSpconv(Tensor official)
    {
        var (outputs, inputs) = (official.shape[0], official.shape[4]);
        return official.permute(1, 2, 3, 4, 0).reshape(27, inputs, outputs);
    }

    private static string Describe(PtV3Config c) =>
        $"depths ({string.Join(", ", c.Depths)}), channels ({string.Join(", ", c.Channels)})";

    private static string Shape(IEnumerable<long> shape) => $"[{string.Join(", ", shape)}]";
}
