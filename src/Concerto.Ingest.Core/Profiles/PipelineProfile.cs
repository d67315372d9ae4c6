using System.Text.Json.Serialization;

namespace Concerto.Ingest.Core.Profiles;

/// <summary>A versioned pipeline profile (a JSON file under pipelines/). Sections for later stages ride along in
/// <see cref="ProfileDocument.CanonicalJson"/> and the hash even when this record does not model them yet.</summary>
public sealed record PipelineProfile(
    string Name,
    int Version,
    DecodeSettings Decode,
    ReconstructSettings? Reconstruct = null,
    SegmentSettings? Segment = null,
    FeaturizeSettings? Featurize = null);

/// <summary>How the reconstruct stage lifts keyframes to a scene cloud.</summary>
/// <param name="Method">auto: posed when a capture.json describes the video, else vggt when a model is set, else colmap
/// when COLMAP is installed, else classic (weights-free structure from motion + multi-view stereo on the CPU); colmap: COLMAP's structure from motion (the
/// program, Concerto:Reconstruction:ColmapPath or `colmap` on PATH) with our multi-view stereo on its cameras; none
/// skips the stage.</param>
/// <param name="ModelPath">VGGT ONNX model (weights file beside it); empty: Concerto:Reconstruction:VggtModel.</param>
/// <param name="VoxelSize">Fusion grid in the reconstructor's units (metres for posed captures).</param>
/// <param name="ConfidencePercentile">Per-frame share (%) of the least confident depth dropped before fusion.</param>
/// <param name="TargetZRange">Scene scale normalisation (Concerto: 3); null keeps the reconstructor's scale.</param>
/// <param name="PointSource">What VGGT fusion takes: depth + cameras (the more accurate branch) or the point-map head
/// (what Concerto's RE10K lift used).</param>
/// <param name="Focal">classic and colmap: metadata takes the focal length from a capture.json beside the video when there is one
/// and estimates it otherwise; estimate always estimates it.</param>
/// <param name="FovDegrees">classic and colmap: the camera's horizontal field of view when known (overrides <see cref="Focal"/>).</param>
/// <param name="Stereo">classic and colmap: the multi-view stereo's resolution, depth hypotheses and consistency rule.</param>
public sealed record ReconstructSettings(
    ReconstructMethod Method = ReconstructMethod.Auto,
    string? ModelPath = null,
    int WindowSize = 24,
    int Overlap = 8,
    double VoxelSize = 0.02,
    double ConfidencePercentile = 50,
    double? TargetZRange = 3.0,
    PointSource PointSource = PointSource.Depth,
    FocalSource Focal = FocalSource.Metadata,
    double? FovDegrees = null,
    StereoSettings? Stereo = null)
{
    public static ReconstructSettings Default { get; } = new();
}

/// <summary>Multi-view stereo of the classic and colmap reconstructors (PatchMatch or a plane sweep, then a geometric
/// consistency check).</summary>
/// <param name="MaxSide">Longest side of the images stereo works on (area-downscaled, never upscaled).</param>
/// <param name="Depths">Plane sweep only: depth hypotheses per pixel, uniform in inverse depth.</param>
/// <param name="MinConsistentViews">Neighbour depth maps that must agree with a pixel's depth for it to be kept.</param>
/// <param name="Method">patchMatch (slanted planes per pixel, random search and propagation) or planeSweep (fronto-parallel
/// planes, winner takes all).</param>
/// <param name="Iterations">PatchMatch only: propagation and refinement sweeps.</param>
public sealed record StereoSettings(int MaxSide = 320, int Depths = 64, int MinConsistentViews = 2, StereoMethod Method = StereoMethod.PlaneSweep,
    int Iterations = 6)
{
    public static StereoSettings Default { get; } = new();
}

/// <summary>How the segment stage cuts a scene into training samples of 1 point cloud + 4 views.</summary>
/// <param name="Views">covisibility: every pair of the 4 views shares at least <see cref="MinCovisibility"/> of the
/// smaller view's visible points and lies at least <see cref="MinBaseline"/> apart, the views spread as far as those
/// bounds allow; sliding: a stretch of the walk, each view sharing at least <see cref="MinCovisibility"/> with the
/// previous one and <see cref="MinBaseline"/> from it, so a walk gives a run of local groups (how densely:
/// <see cref="MaxOverlap"/>); poseGap: the RealEstate10K rule,
/// consecutive views <see cref="MinFrameGap"/>-<see cref="MaxFrameGap"/> video frames apart with rotation (degrees) +
/// 20 x translation in [<see cref="MinPoseScore"/>, <see cref="MaxPoseScore"/>].</param>
/// <param name="MaxOverlap">A segment shares at most this fraction of its points with any earlier segment of the scene.</param>
/// <param name="GridSize">Optional grid sampling of the segment cloud (scene units); null keeps every visible point.</param>
/// <param name="MinPoints">Segments with fewer points are not kept.</param>
/// <param name="MaxSegments">Per scene; 0 = no limit.</param>
/// <param name="Cloud">views: a segment's cloud is the scene points its views see; scene: every segment carries the whole
/// scene cloud (Pointcept's convention for scans, e.g. ScanNet), its images' correspondences indexing into it.</param>
public sealed record SegmentSettings(
    ViewSelectionMode Views = ViewSelectionMode.Sliding,
    int ViewsPerSegment = 4,
    double MinCovisibility = 0.3,
    double MinBaseline = 0.1,
    int MinFrameGap = 15,
    int MaxFrameGap = 135,
    double MinPoseScore = 5,
    double MaxPoseScore = 40,
    double MaxOverlap = 0.7,
    double? GridSize = null,
    int MinPoints = 1000,
    int MaxSegments = 0,
    SegmentCloud Cloud = SegmentCloud.Views)
{
    public static SegmentSettings Default { get; } = new();
}

[JsonConverter(typeof(JsonStringEnumConverter<ViewSelectionMode>))]
public enum ViewSelectionMode { Covisibility, PoseGap, Sliding }

[JsonConverter(typeof(JsonStringEnumConverter<SegmentCloud>))]
public enum SegmentCloud { Views, Scene }

[JsonConverter(typeof(JsonStringEnumConverter<PointSource>))]
public enum PointSource { Depth, PointMap }

[JsonConverter(typeof(JsonStringEnumConverter<ReconstructMethod>))]
public enum ReconstructMethod { Auto, Posed, Vggt, Classic, Colmap, None }

[JsonConverter(typeof(JsonStringEnumConverter<StereoMethod>))]
public enum StereoMethod { PlaneSweep, PatchMatch }

[JsonConverter(typeof(JsonStringEnumConverter<FocalSource>))]
public enum FocalSource { Metadata, Estimate }

/// <summary>How the decode stage samples keyframes from a video.</summary>
/// <param name="Width">Keyframe width in pixels; height follows the display aspect ratio (even). Never upscales.</param>
/// <param name="MinSharpness">Frames whose variance of Laplacian is below this are rejected as blurred.</param>
/// <param name="AnalysisFps">Rate at which candidate frames are analysed; null = the video's own frame rate.</param>
public sealed record DecodeSettings(
    int Width,
    SamplingSettings Sampling,
    double MinSharpness,
    double? AnalysisFps,
    KeyframeImageFormat ImageFormat,
    int JpegQuality)
{
    public static DecodeSettings Default { get; } =
        new(518, new SamplingSettings(SamplingMode.Fps, 2.0, null), 15.0, null, KeyframeImageFormat.Jpg, 95);
}

/// <summary>Keyframes either at a target rate (one per 1/fps window) or a fixed count spread over the video.</summary>
public sealed record SamplingSettings(SamplingMode Mode, double? Fps, int? Count);

[JsonConverter(typeof(JsonStringEnumConverter<SamplingMode>))]
public enum SamplingMode { Fps, Count }

[JsonConverter(typeof(JsonStringEnumConverter<KeyframeImageFormat>))]
public enum KeyframeImageFormat { Jpg, Png }

/// <summary>How the featurize stage runs the frozen image teacher (DINOv2 with registers, or any teacher with a patch
/// grid) on every segment image. Concerto's preprocessing: centre-crop the largest box that is a whole number of pixels
/// per patch (<see cref="TeacherGrid.Crop"/>), bilinear resize to <see cref="InputWidth"/> x <see cref="InputHeight"/>,
/// [0, 1], normalise by <see cref="Mean"/> and <see cref="Std"/>; the patch tokens are the last rows x columns tokens of
/// <see cref="OutputName"/>, row-major.</summary>
/// <param name="ModelPath">Teacher ONNX model; empty: Concerto:Features:TeacherModel; neither: the stage ends, saying so.</param>
/// <param name="LeadingTokens">Tokens before the patch tokens (CLS + 4 registers in the public dinov2-with-registers
/// exports); the model must return exactly LeadingTokens + patches tokens.</param>
/// <param name="ImageSize">Side of a square teacher input (518 for DINOv2 at 37 x 37 patches of 14 px).</param>
/// <param name="CropMultiple">Kept for older profiles: the crop is always a whole multiple of the grid (Pointcept's
/// rule), so when given it must equal a square grid's side.</param>
/// <param name="AugmentedCopies">Besides the plain features, this many copies from augmented images (Concerto's teacher
/// augmentation: chromatic jitter p 0.95 ratio 0.05, Gaussian blur p 0.5 kernel 9 sigma 0.1-2), so the trainer can draw
/// one per step as the official online teacher sees a fresh augmentation; 0: plain features only.</param>
/// <param name="ImageHeight">Input height of a teacher whose input is not square (e.g. 630 for Pointcept's 630 x 1120
/// crop, 45 x 80 patches); null: <paramref name="ImageSize"/>.</param>
/// <param name="ImageWidth">Input width of such a teacher; null: <paramref name="ImageSize"/>.</param>
public sealed record FeaturizeSettings(
    string? ModelPath = null,
    string InputName = "pixel_values",
    string OutputName = "last_hidden_state",
    int LeadingTokens = 5,
    int ImageSize = 518,
    int PatchSize = 14,
    int? CropMultiple = null,
    double[]? Mean = null,
    double[]? Std = null,
    int BatchSize = 8,
    int AugmentedCopies = 0,
    int? ImageHeight = null,
    int? ImageWidth = null)
{
    public static FeaturizeSettings Default { get; } = new();

    public static IReadOnlyList<double> ImageNetMean { get; } = [0.485, 0.456, 0.406];
    public static IReadOnlyList<double> ImageNetStd { get; } = [0.229, 0.224, 0.225];

    public IReadOnlyList<double> ChannelMean => Mean ?? ImageNetMean;
    public IReadOnlyList<double> ChannelStd => Std ?? ImageNetStd;
    public int InputHeight => ImageHeight ?? ImageSize;
    public int InputWidth => ImageWidth ?? ImageSize;

    /// <summary>The teacher's patch grid: input height and width over the patch size.</summary>
    public TeacherGrid Grid => new(InputHeight / Math.Max(PatchSize, 1), InputWidth / Math.Max(PatchSize, 1), PatchSize);

    public int PatchTokens => Grid.Tokens;
}
