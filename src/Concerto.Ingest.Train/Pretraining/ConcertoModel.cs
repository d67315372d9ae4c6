using Concerto.Ingest.Train.CrossModal;
using Concerto.Ingest.Train.Model;
using Concerto.Ingest.Train.Profiles;
using Concerto.Ingest.Train.Sonata;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Concerto.Ingest.Train.Pretraining;

/// <summary>An encoder with Sonata's two online-clustering heads (mask and unmask) on its up-cast features. The student
/// and the EMA teacher are two of these with the same parameter names.</summary>
public sealed class SonataNetwork : nn.Module
{
    private readonly PointTransformerV3 encoder;
    private readonly OnlineClusterHead mask_head;
    private readonly OnlineClusterHead unmask_head;

    public SonataNetwork(string name, PtV3Config config, SonataSettings sonata) : base(name)
    {
        ArgumentNullException.ThrowIfNull(sonata);
        encoder = new PointTransformerV3("encoder", config);
        var channels = encoder.UpCastChannels(HeadLevel(config, sonata), sonata.UpCastLevels);
        mask_head = new OnlineClusterHead("mask_head", channels, sonata.Hidden, sonata.Bottleneck, sonata.Prototypes);
        unmask_head = new OnlineClusterHead("unmask_head", channels, sonata.Hidden, sonata.Bottleneck, sonata.Prototypes);
        RegisterComponents();
    }

    public PointTransformerV3 Encoder => encoder;

    public OnlineClusterHead MaskHead => mask_head;

    public OnlineClusterHead UnmaskHead => unmask_head;

    /// <summary>The level Sonata's heads and matching work at: the up-cast reaches the last stage from it.</summary>
    public static int HeadLevel(PtV3Config config, SonataSettings sonata) => config.Stages - 1 - sonata.UpCastLevels;
}

/// <summary>Everything Concerto pretraining trains or tracks: the student network, its EMA teacher (no gradients, no
/// drop path) and, with the image branch on, the cross-modal predictor on the student.</summary>
public sealed class ConcertoModel : nn.Module
{
    private readonly SonataNetwork student;
    private readonly SonataNetwork teacher;
    private readonly CrossModalHead? predictor;

    public ConcertoModel(string name, TrainingProfile profile, int teacherFeatureWidth) : base(name)
    {
        ArgumentNullException.ThrowIfNull(profile);
        Profile = profile;
        var config = profile.Encoder;
        student = new SonataNetwork("student", config, profile.Sonata);
        teacher = new SonataNetwork("teacher", config with { DropPath = 0 }, profile.Sonata);
        if (profile.Concerto.Enabled && teacherFeatureWidth > 0)
            predictor = new CrossModalHead("predictor", student.Encoder.UpCastChannels(1, profile.Concerto.UpCastLevels), teacherFeatureWidth);
        RegisterComponents();

        teacher.load_state_dict(student.state_dict());
        foreach (var p in teacher.parameters()) p.requires_grad = false;
    }

    public TrainingProfile Profile { get; }

    public SonataNetwork Student => student;

    public SonataNetwork Teacher => teacher;

    public CrossModalHead? Predictor => predictor;

    /// <summary>The parameters the optimizer trains, with their names (the teacher only follows by EMA).</summary>
    public IEnumerable<(string Name, Parameter Parameter)> TrainableParameters() =>
        named_parameters().Where(p => !p.name.StartsWith("teacher.", StringComparison.Ordinal));

    /// <summary>Layer of a trainable parameter for layer-wise lr decay (the student encoder's numbering; heads and
    /// predictor are above every layer: null).</summary>
    public int? LayerOf(string name) =>
        name.StartsWith("student.encoder.", StringComparison.Ordinal) ? student.Encoder.LayerOf(name["student.encoder.".Length..]) : null;
}
