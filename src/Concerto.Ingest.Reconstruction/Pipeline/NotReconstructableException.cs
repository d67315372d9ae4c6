namespace Concerto.Ingest.Reconstruction.Pipeline;

/// <summary>The keyframes hold nothing this reconstructor can lift (a static camera, a blank or purely 2-D moving
/// picture, too few keyframes): a property of the content, so retrying is pointless. The reconstruct stage records the
/// reason instead of a scene.</summary>
public sealed class NotReconstructableException(string message) : Exception(message);
