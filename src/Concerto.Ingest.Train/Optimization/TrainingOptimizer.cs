using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Concerto.Ingest.Train.Optimization;

/// <summary>The optimisation settings of spec section 2 (Sonata and Concerto share them): AdamW lr 0.004 at batch 96,
/// OneCycle with 5% cosine warm-up, div 10, final div 1000, weight decay cosine 0.04 -> 0.2. Betas and eps are PyTorch's
/// AdamW defaults, which Pointcept keeps.</summary>
/// <param name="TotalSteps">Optimizer updates in the whole run (epochs x updates per epoch).</param>
public sealed record OptimizerSettings(
    long TotalSteps,
    double MaxLearningRate = 0.004,
    double WarmupFraction = 0.05,
    double DivFactor = 10,
    double FinalDivFactor = 1000,
    double WeightDecayStart = 0.04,
    double WeightDecayEnd = 0.2,
    double Beta1 = 0.9,
    double Beta2 = 0.999,
    double Epsilon = 1e-8)
{
    /// <summary>Gradient-norm clip of Sonata and Concerto Base.</summary>
    public const double ClipNorm = 3.0;

    /// <summary>Gradient-norm clip of Concerto Large (spec section 3).</summary>
    public const double LargeClipNorm = 2.0;

    /// <summary>The base (unscaled) learning rate of update <paramref name="step"/>.</summary>
    public double LearningRate(long step) =>
        OneCycle.LearningRate(step, TotalSteps, MaxLearningRate, WarmupFraction, DivFactor, FinalDivFactor);

    /// <summary>The weight decay of update <paramref name="step"/> (groups that take weight decay).</summary>
    public double WeightDecay(long step) => CosineSchedule.Value(step, TotalSteps, WeightDecayStart, WeightDecayEnd);
}

/// <summary>TorchSharp AdamW over layer-wise decayed groups, with the learning rate and weight decay set from the
/// schedules before every update, so that update s depends only on s and the saved state (exact resume).</summary>
public sealed class TrainingOptimizer : IDisposable
{
    private readonly AdamW _adamW;
    private readonly Parameter[] _parameters;

    public TrainingOptimizer(IReadOnlyList<LayerwiseParameterGroup> groups, OptimizerSettings settings)
    {
        ArgumentNullException.ThrowIfNull(groups);
        ArgumentNullException.ThrowIfNull(settings);
        if (groups.Count == 0 || groups.Any(g => g.Parameters.Count == 0))
            throw new ArgumentException("Give at least one parameter group and no empty group.", nameof(groups));
        Groups = groups;
        Settings = settings;
        _parameters = groups.SelectMany(g => g.Parameters).ToArray();
        // Explicit betas: TorchSharp's optim.AdamW factory defaults beta2 to 0.99, PyTorch (and Pointcept) to 0.999.
        _adamW = new AdamW(
            groups.Select(g => new AdamW.ParamGroup(g.Parameters.ToArray(), settings.MaxLearningRate * g.LearningRateScale,
                settings.Beta1, settings.Beta2, settings.Epsilon, g.AppliesWeightDecay ? settings.WeightDecayStart : 0)),
            settings.MaxLearningRate, settings.Beta1, settings.Beta2, settings.Epsilon);
        ApplySchedule(0);
    }

    public IReadOnlyList<LayerwiseParameterGroup> Groups { get; }

    public OptimizerSettings Settings { get; }

    /// <summary>The base learning rate set by the last <see cref="ApplySchedule"/> or <see cref="Step"/>.</summary>
    public double LearningRate { get; private set; }

    /// <summary>The weight decay set by the last <see cref="ApplySchedule"/> or <see cref="Step"/>.</summary>
    public double WeightDecay { get; private set; }

    /// <summary>The learning rate and weight decay each TorchSharp group holds now, in group order.</summary>
    public IReadOnlyList<(double LearningRate, double WeightDecay)> GroupValues =>
        _adamW.ParamGroups.Cast<AdamW.ParamGroup>().Select(g => (g.LearningRate, g.Options.weight_decay!.Value)).ToArray();

    /// <summary>Sets every group's learning rate (base x scale) and weight decay (0 for groups without) for update
    /// <paramref name="step"/>.</summary>
    public void ApplySchedule(long step)
    {
        LearningRate = Settings.LearningRate(step);
        WeightDecay = Settings.WeightDecay(step);
        var index = 0;
        foreach (var group in _adamW.ParamGroups.Cast<AdamW.ParamGroup>())
        {
            var spec = Groups[index++];
            group.LearningRate = LearningRate * spec.LearningRateScale;
            group.Options.weight_decay = spec.AppliesWeightDecay ? WeightDecay : 0;
        }
    }

    /// <summary>Update number <paramref name="step"/> (0-based): schedules, then one AdamW step.</summary>
    public void Step(long step)
    {
        ApplySchedule(step);
        _adamW.step()?.Dispose();
    }

    /// <summary>Clips the global L2 norm of all gradients to <paramref name="maxNorm"/> (<see cref="OptimizerSettings.ClipNorm"/>
    /// or <see cref="OptimizerSettings.LargeClipNorm"/>) and returns the norm before clipping.</summary>
    public double ClipGradients(double maxNorm)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(maxNorm);
        return nn.utils.clip_grad_norm_(_parameters, maxNorm);
    }

    /// <summary>Drops every gradient (PyTorch's <c>zero_grad(set_to_none=True)</c>), so a parameter that gets no gradient
    /// in a step (the Concerto predictor in a batch without images) is skipped by AdamW, moments and weight decay
    /// included, as in PyTorch. TorchSharp's own <c>Optimizer.zero_grad()</c> would zero the tensors and update it.</summary>
    public void ZeroGrad()
    {
        foreach (var parameter in _parameters) parameter.grad = null;
    }

    /// <summary>Writes AdamW's state (per-group options, per-parameter step counts and moments) in TorchSharp's format.</summary>
    public void SaveState(Stream stream)
    {
        ArgumentNullException.ThrowIfNull(stream);
        using var writer = new BinaryWriter(stream, System.Text.Encoding.UTF8, leaveOpen: true);
        _adamW.save_state_dict(writer);
        writer.Flush();
    }

    /// <summary>Reads state written by <see cref="SaveState"/> into this optimizer, in place; the groups must be built the
    /// same way (same parameters in the same order).</summary>
    public void LoadState(Stream stream)
    {
        ArgumentNullException.ThrowIfNull(stream);
        using var reader = new BinaryReader(stream, System.Text.Encoding.UTF8, leaveOpen: true);
        _adamW.load_state_dict(reader);
    }

    public void Dispose() => _adamW.Dispose();
}
