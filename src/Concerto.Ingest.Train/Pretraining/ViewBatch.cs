using Concerto.Ingest.Train.Model;
using static TorchSharp.torch;

namespace Concerto.Ingest.Train.Pretraining;

/// <summary>Views collated for the encoder on the CPU: per point its position (after augmentation), its position before
/// augmentation, its 9 input features and its grid coordinates (distinct within a view), views one after another.</summary>
public sealed class ViewBatch
{
    public required float[] Coord { get; init; }
    public required float[] Origin { get; init; }

    /// <summary>9 per point: coord, colour / 255, normal.</summary>
    public required float[] Feat { get; init; }

    public required int[] Grid { get; init; }
    public required int[] Batch { get; init; }

    /// <summary>Masked points (student global views); null for none.</summary>
    public bool[]? Mask { get; init; }

    public double GridSize { get; init; }

    public int Count => Batch.Length;

    /// <summary>The views as encoder input on <paramref name="device"/> (in the caller's dispose scope).</summary>
    public EncoderInput ToInput(Device device) => new(
        tensor(Feat, device: device).view(-1, 9),
        tensor(Coord, device: device).view(-1, 3),
        tensor(Origin, device: device).view(-1, 3),
        Grid, Batch, GridSize,
        Mask is null ? null : tensor(Mask, device: device));
}

/// <summary>What one pretraining micro-step consumes, prepared by the background loader.</summary>
public sealed class PretrainBatch
{
    /// <summary>Samples in the batch; global view v of sample b is view 2b + v, local view l is view L*b + l.</summary>
    public required int Samples { get; init; }

    /// <summary>The two global views, unmasked (teacher input).</summary>
    public required ViewBatch Global { get; init; }

    /// <summary>The same global views with the mask and masked points' coordinate noise (student input).</summary>
    public required ViewBatch MaskedGlobal { get; init; }

    /// <summary>The local views (student input); null when the profile has none.</summary>
    public ViewBatch? Local { get; init; }

    public required int LocalViewsPerSample { get; init; }

    /// <summary>Stage-0 points of the major views (global view 0) seen in the batch's images, as indices into
    /// <see cref="MaskedGlobal"/>, with the teacher patch they fall on.</summary>
    public required IReadOnlyList<CrossModal.PatchHit> Hits { get; init; }

    /// <summary>Teacher patch features of the batch's images, [Images * Grid.Tokens, FeatureWidth] row-major.</summary>
    public required float[] TeacherFeatures { get; init; }

    /// <summary>The patch grid every image's features in the batch are laid out on.</summary>
    public required Core.Profiles.TeacherGrid Grid { get; init; }

    public required int Images { get; init; }

    public required int FeatureWidth { get; init; }

    /// <summary>Points in all views (for throughput).</summary>
    public long Points => Global.Count + MaskedGlobal.Count + (Local?.Count ?? 0);
}
