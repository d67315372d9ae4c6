using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;
using Concerto.Ingest.Core.Profiles;
using Concerto.Ingest.Train.Model;

namespace Concerto.Ingest.Train.Profiles;

/// <summary>A training profile (pipelines/concerto-*.json): the model size and every setting of Concerto pretraining
/// (shared/spec/concerto.md sections 1-3). Defaults are the spec's values; a profile states what differs.</summary>
public sealed record TrainingProfile(
    string Name,
    int Version,
    ModelSettings Model,
    TrainingDataSettings Data,
    SonataSettings Sonata,
    ConcertoSettings Concerto,
    OptimizationSettings Optimizer,
    ScheduleSettings Schedule,
    string Device = "auto",
    Precision Precision = Precision.Auto,
    bool ActivationCheckpointing = false,
    int Seed = 1)
{
    private static readonly JsonSerializerOptions ReadOptions = new()
    {
        PropertyNameCaseInsensitive = true,
        ReadCommentHandling = JsonCommentHandling.Skip,
        AllowTrailingCommas = true,
        UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow,
    };

    /// <summary>The encoder's shape: a standard size with the profile's patch size and drop path.</summary>
    public PtV3Config Encoder => PtV3Config.Named(Model.Size) with { PatchSize = Model.PatchSize, DropPath = Model.DropPath };

    /// <summary>Reads and validates a profile file; errors are <see cref="ProfileException"/>s naming the file.</summary>
    public static (TrainingProfile Profile, string CanonicalJson, string Hash) Load(string path)
    {
        string json;
        try
        {
            json = File.ReadAllText(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new ProfileException($"{path}: cannot read the training profile ({e.Message}). Pass an existing file with --profile, e.g. pipelines/concerto-tiny.json.", e);
        }

        return Parse(json, path);
    }

    /// <summary>Parses profile JSON (comments and trailing commas allowed); <paramref name="source"/> names it in errors.</summary>
    public static (TrainingProfile Profile, string CanonicalJson, string Hash) Parse(string json, string source)
    {
        JsonNode? root;
        TrainingProfile? profile;
        try
        {
            root = JsonNode.Parse(json, documentOptions: new JsonDocumentOptions { CommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true });
            profile = root?.Deserialize<TrainingProfile>(ReadOptions);
        }
        catch (JsonException e)
        {
            throw new ProfileException($"{source}: {e.Message}", e);
        }

        if (profile is null || root is not JsonObject) throw new ProfileException($"{source}: a training profile must be a JSON object.");
        profile = profile with
        {
            Model = profile.Model ?? new ModelSettings(),
            Data = profile.Data ?? new TrainingDataSettings(),
            Sonata = profile.Sonata ?? new SonataSettings(),
            Concerto = profile.Concerto ?? new ConcertoSettings(),
            Optimizer = profile.Optimizer ?? new OptimizationSettings(),
            Schedule = profile.Schedule ?? new ScheduleSettings(),
        };
        profile.Validate(source);
        var canonical = JsonSerializer.Serialize(profile, CanonicalOptions);
        return (profile, canonical, Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(canonical))));
    }

    private static readonly JsonSerializerOptions CanonicalOptions = new() { PropertyNamingPolicy = JsonNamingPolicy.CamelCase };

    private void Validate(string source)
    {
        var errors = new List<string>();
        try
        {
            Encoder.Validate();
        }
        catch (ArgumentException e)
        {
            errors.Add($"model: {e.Message}");
        }

        if (Data.GridSize <= 0) errors.Add("data.gridSize must be positive");
        if (Data.BatchSize < 1) errors.Add("data.batchSize must be at least 1");
        if (Data.MaxPoints < 64) errors.Add("data.maxPoints must be at least 64");
        if (Data.Workers is < 1 or > 64) errors.Add("data.workers must be in [1, 64]");
        if (Data.LocalViews < 0) errors.Add("data.localViews must not be negative");
        if (Sonata.Prototypes < 2 || Sonata.Hidden < 1 || Sonata.Bottleneck < 1) errors.Add("sonata: hidden, bottleneck and prototypes must be positive (prototypes >= 2)");
        var stages = Model.Size is { } size && PtV3Config.Standard.Any(c => c.Name.Equals(size, StringComparison.OrdinalIgnoreCase)) ? Encoder.Stages : 5;
        if (Sonata.UpCastLevels < 0 || Sonata.UpCastLevels > stages - 1) errors.Add($"sonata.upCastLevels must be in [0, {stages - 1}]");
        if (Concerto.UpCastLevels < 0 || Concerto.UpCastLevels > stages - 2) errors.Add($"concerto.upCastLevels must be in [0, {stages - 2}] (it up-casts onto stage 1)");
        if (Optimizer.LearningRate <= 0 || Optimizer.ReferenceBatch < 1) errors.Add("optimizer.learningRate and referenceBatch must be positive");
        if (Optimizer.EffectiveBatch is { } effective && effective < Data.BatchSize) errors.Add("optimizer.effectiveBatch must be at least data.batchSize");
        if (Optimizer.LayerDecay is <= 0 or > 1) errors.Add("optimizer.layerDecay must be in (0, 1]");
        if (Schedule.Steps is null && Schedule.Epochs is null) errors.Add("schedule needs steps or epochs");
        if (Schedule.Steps is < 2 || Schedule.Epochs is < 1) errors.Add("schedule.steps must be at least 2 and schedule.epochs positive");
        if (Schedule.CheckpointEvery < 1) errors.Add("schedule.checkpointEvery must be at least 1");
        var weights = Concerto.Weights;
        if (weights.Mask < 0 || weights.Roll < 0 || weights.Unmask < 0 || weights.CrossModal < 0) errors.Add("concerto.weights must not be negative");
        if (errors.Count > 0) throw new ProfileException($"{source}: invalid training profile: {string.Join("; ", errors)}.");
    }
}

/// <param name="Size">tiny, small, base or large (shared/spec/concerto.md section 1).</param>
/// <param name="PatchSize">Points per attention window (1024 in the papers; smaller trains faster on a CPU).</param>
/// <param name="DropPath">Drop path of the last block, rising linearly from 0.</param>
public sealed record ModelSettings(string Size = "tiny", int PatchSize = 1024, double DropPath = 0.3);

/// <param name="Split">Which split of the dataset version to train on.</param>
/// <param name="GridSize">Grid sampling before views (0.02).</param>
/// <param name="MaxPoints">Global views take up to this many points (65,536), local views a fraction of it.</param>
/// <param name="BatchSize">Samples per optimizer micro-step.</param>
/// <param name="Workers">Background tasks preparing batches.</param>
public sealed record TrainingDataSettings(string Split = "train", double GridSize = 0.02, int MaxPoints = 65536, int BatchSize = 8,
    int LocalViews = 4, int Workers = 2);

/// <summary>Sonata self-distillation (spec section 2). Ranges are [start, end] of a 5% linear warm-up.</summary>
/// <param name="SinkhornPerMicroBatch">False (the official behaviour): Sinkhorn-Knopp normalises each pairing over the
/// whole effective batch, keeping every micro-batch's matched teacher logits until the step's student passes; true
/// normalises per micro-batch, which saves that memory when accumulating many micro-batches of a large model.</param>
public sealed record SonataSettings(
    int Hidden = 4096,
    int Bottleneck = 256,
    int Prototypes = 4096,
    int UpCastLevels = 2,
    double[]? MaskSize = null,
    double[]? MaskRatio = null,
    double[]? TeacherTemperature = null,
    double StudentTemperature = 0.1,
    double[]? Momentum = null,
    double MatchDistance = 0.32,
    double WarmupFraction = 0.05,
    bool SinkhornPerMicroBatch = false)
{
    public (double Start, double End) MaskSizeRange => Pair(MaskSize, 0.1, 0.4);
    public (double Start, double End) MaskRatioRange => Pair(MaskRatio, 0.3, 0.7);
    public (double Start, double End) TeacherTemperatureRange => Pair(TeacherTemperature, 0.04, 0.07);
    public (double Start, double End) MomentumRange => Pair(Momentum, 0.994, 1.0);

    private static (double, double) Pair(double[]? values, double start, double end) => values is [var a, var b] ? (a, b) : (start, end);
}

/// <summary>Concerto's cross-modal branch and the loss weights (spec section 3).</summary>
/// <param name="Enabled">False trains Sonata only (the image branch off).</param>
/// <param name="UpCastLevels">Levels up-cast onto stage 1 for prediction (3).</param>
public sealed record ConcertoSettings(bool Enabled = true, int UpCastLevels = 3, LossWeights? LossWeights = null)
{
    public LossWeights Weights => WeightsFor(Enabled);

    /// <summary>The weights of a run whose image branch is <paramref name="crossModal"/> (off, too, when the dataset has
    /// no teacher features): the profile's own, else Concerto's or Sonata's.</summary>
    public LossWeights WeightsFor(bool crossModal) => LossWeights ?? (crossModal ? Default : SonataOnly);

    /// <summary>Concerto: mask 1/8, roll 1/8, unmask 2/8, cross-modal 4/8.</summary>
    public static LossWeights Default { get; } = new(0.125, 0.125, 0.25, 0.5);

    /// <summary>Sonata: mask 2/8, roll 2/8, unmask 4/8.</summary>
    public static LossWeights SonataOnly { get; } = new(0.25, 0.25, 0.5, 0);
}

public sealed record LossWeights(double Mask, double Roll, double Unmask, double CrossModal);

/// <param name="LearningRate">Peak lr at <see cref="ReferenceBatch"/> samples per optimizer step (0.004 at 96); scaled
/// linearly with the effective batch.</param>
/// <param name="EffectiveBatch">Samples per optimizer step, reached by gradient accumulation; null = one micro-batch.</param>
public sealed record OptimizationSettings(
    double LearningRate = 0.004,
    int ReferenceBatch = 96,
    int? EffectiveBatch = null,
    double[]? WeightDecay = null,
    double LayerDecay = 0.9,
    double GradientClip = 3.0,
    double WarmupFraction = 0.05,
    double DivFactor = 10,
    double FinalDivFactor = 1000)
{
    public (double Start, double End) WeightDecayRange => WeightDecay is [var a, var b] ? (a, b) : (0.04, 0.2);
}

/// <param name="Steps">Optimizer steps; when null, <see cref="Epochs"/> over the split decides.</param>
public sealed record ScheduleSettings(long? Steps = null, int? Epochs = 100, int CheckpointEvery = 500, int KeepCheckpoints = 2);

[JsonConverter(typeof(JsonStringEnumConverter<Precision>))]
public enum Precision { Auto, Fp32, Bf16 }
