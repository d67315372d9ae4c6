using Concerto.Ingest.Core.Geometry;

namespace Concerto.Ingest.Reconstruction.Alignment;

/// <summary>A similarity transform x -> Scale * Rotation * x + Translation (Rotation proper, Scale positive).</summary>
public sealed record Sim3(double Scale, Mat3 Rotation, V3 Translation)
{
    public static Sim3 Identity { get; } = new(1, Mat3.Identity, V3.Zero);

    public V3 Apply(V3 x) => Scale * (Rotation * x) + Translation;

    /// <summary>This transform applied after <paramref name="other"/>: x -> this(other(x)).</summary>
    public Sim3 Compose(Sim3 other)
    {
        ArgumentNullException.ThrowIfNull(other);
        return new(Scale * other.Scale, Rotation * other.Rotation, Scale * (Rotation * other.Translation) + Translation);
    }

    /// <summary>A camera-to-world pose carried into the transformed world: position mapped, orientation rotated,
    /// never scaled (a camera stays a rigid frame).</summary>
    public RigidTransform TransformCamera(RigidTransform cameraToWorld)
    {
        ArgumentNullException.ThrowIfNull(cameraToWorld);
        return new RigidTransform((Rotation * Mat3.FromArray(cameraToWorld.R)).ToArray(), Apply(cameraToWorld.T));
    }

    public Sim3 Inverse()
    {
        var rt = Rotation.Transpose();
        return new(1 / Scale, rt, -(rt * Translation) / Scale);
    }
}
