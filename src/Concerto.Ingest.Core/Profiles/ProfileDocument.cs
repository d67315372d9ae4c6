using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Concerto.Ingest.Core.Profiles;

/// <summary>A parsed profile with its canonical JSON and content hash. The hash keys runs (video x profile), so it
/// ignores formatting and key order: only the settings themselves change it.</summary>
public sealed record ProfileDocument(PipelineProfile Profile, string CanonicalJson, string Hash)
{
    private static readonly JsonSerializerOptions ReadOptions = new()
    {
        PropertyNameCaseInsensitive = true,
        ReadCommentHandling = JsonCommentHandling.Skip,
        AllowTrailingCommas = true,
    };

    /// <summary>Parses profile JSON; <paramref name="source"/> names it in errors.</summary>
    public static ProfileDocument Parse(string json, string source)
    {
        ArgumentNullException.ThrowIfNull(json);
        JsonNode? root;
        try
        {
            root = JsonNode.Parse(json, documentOptions: new JsonDocumentOptions
            {
                CommentHandling = JsonCommentHandling.Skip,
                AllowTrailingCommas = true,
            });
        }
        catch (JsonException e)
        {
            throw new ProfileException($"{source}: not valid JSON ({e.Message}). Fix the file or pick another profile with --profile.", e);
        }

        if (root is not JsonObject obj)
            throw new ProfileException($"{source}: a profile must be a JSON object.");

        PipelineProfile profile;
        try
        {
            profile = obj.Deserialize<PipelineProfile>(ReadOptions)
                      ?? throw new ProfileException($"{source}: empty profile.");
        }
        catch (JsonException e)
        {
            throw new ProfileException($"{source}: {e.Message}", e);
        }

        profile = profile with { Decode = profile.Decode ?? DecodeSettings.Default, Reconstruct = profile.Reconstruct ?? ReconstructSettings.Default,
            Segment = profile.Segment ?? SegmentSettings.Default, Featurize = profile.Featurize ?? FeaturizeSettings.Default };
        Validate(profile, source);

        var canonical = Canonicalize(obj)!.ToJsonString();
        var hash = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(canonical)));
        return new ProfileDocument(profile, canonical, hash);
    }

    private static void Validate(PipelineProfile p, string source)
    {
        var errors = new List<string>();
        if (string.IsNullOrWhiteSpace(p.Name)) errors.Add("name is required");
        if (p.Version < 1) errors.Add("version must be >= 1");
        var d = p.Decode;
        if (d.Width is < 16 or > 8192) errors.Add("decode.width must be in [16, 8192]");
        if (d.Sampling is not { } sampling) errors.Add("decode.sampling is required");
        else if (sampling.Mode == SamplingMode.Fps && sampling.Fps is not > 0) errors.Add("decode.sampling.fps must be > 0 in fps mode");
        else if (sampling.Mode == SamplingMode.Count && sampling.Count is not > 0) errors.Add("decode.sampling.count must be > 0 in count mode");
        if (d.MinSharpness < 0) errors.Add("decode.minSharpness must be >= 0");
        if (d.AnalysisFps is <= 0) errors.Add("decode.analysisFps must be > 0 or null");
        if (d.JpegQuality is < 1 or > 100) errors.Add("decode.jpegQuality must be in [1, 100]");
        var r = p.Reconstruct ?? ReconstructSettings.Default;
        if (r.WindowSize < 2) errors.Add("reconstruct.windowSize must be >= 2");
        if (r.Overlap < 1 || r.Overlap >= r.WindowSize) errors.Add("reconstruct.overlap must be in [1, windowSize)");
        if (r.VoxelSize <= 0) errors.Add("reconstruct.voxelSize must be > 0");
        if (r.ConfidencePercentile is < 0 or >= 100) errors.Add("reconstruct.confidencePercentile must be in [0, 100)");
        if (r.TargetZRange is <= 0) errors.Add("reconstruct.targetZRange must be > 0 or null");
        if (r.FovDegrees is <= 10 or >= 170) errors.Add("reconstruct.fovDegrees must be in (10, 170) or null");
        var st = r.Stereo ?? StereoSettings.Default;
        if (st.MaxSide is < 32 or > 4096) errors.Add("reconstruct.stereo.maxSide must be in [32, 4096]");
        if (st.Depths is < 8 or > 1024) errors.Add("reconstruct.stereo.depths must be in [8, 1024]");
        if (st.MinConsistentViews is < 0 or > 4) errors.Add("reconstruct.stereo.minConsistentViews must be in [0, 4] (a keyframe has at most 4 neighbours)");
        if (st.Iterations is < 1 or > 32) errors.Add("reconstruct.stereo.iterations must be in [1, 32]");
        var g = p.Segment ?? SegmentSettings.Default;
        if (g.ViewsPerSegment is < 1 or > 4) errors.Add("segment.viewsPerSegment must be in [1, 4]");
        if (g.MinCovisibility is < 0 or > 1) errors.Add("segment.minCovisibility must be in [0, 1]");
        if (g.MinBaseline < 0) errors.Add("segment.minBaseline must be >= 0");
        if (g.MinFrameGap < 1 || g.MaxFrameGap < g.MinFrameGap) errors.Add("segment.minFrameGap must be >= 1 and <= maxFrameGap");
        if (g.MinPoseScore < 0 || g.MaxPoseScore < g.MinPoseScore) errors.Add("segment.minPoseScore must be >= 0 and <= maxPoseScore");
        if (g.MaxOverlap is < 0 or > 1) errors.Add("segment.maxOverlap must be in [0, 1]");
        if (g.GridSize is <= 0) errors.Add("segment.gridSize must be > 0 or null");
        if (g.MinPoints < 1) errors.Add("segment.minPoints must be >= 1");
        if (g.MaxSegments < 0) errors.Add("segment.maxSegments must be >= 0 (0 = no limit)");
        var f = p.Featurize ?? FeaturizeSettings.Default;
        if (string.IsNullOrWhiteSpace(f.InputName) || string.IsNullOrWhiteSpace(f.OutputName)) errors.Add("featurize.inputName and outputName are required");
        if (f.LeadingTokens < 0) errors.Add("featurize.leadingTokens must be >= 0");
        if (f.PatchSize < 1) errors.Add("featurize.patchSize must be >= 1");
        else if (!(f.InputHeight >= f.PatchSize && f.InputHeight % f.PatchSize == 0 && f.InputWidth >= f.PatchSize && f.InputWidth % f.PatchSize == 0))
            errors.Add($"featurize.imageSize (or imageHeight and imageWidth) must be a positive multiple of patchSize ({f.PatchSize}), got {f.InputWidth} x {f.InputHeight}");
        else if (f.Grid.Problem() is { } problem) errors.Add($"featurize: {problem}");
        else if (f.CropMultiple is { } multiple && (f.Grid.Rows != f.Grid.Columns || multiple != f.Grid.Rows))
            errors.Add($"featurize.cropMultiple ({multiple}) must be left out or equal the side of a square patch grid (the grid is {f.Grid.Rows} x {f.Grid.Columns}): the crop is always a whole multiple of the grid");
        if (f.ChannelMean.Count != 3 || f.ChannelStd.Count != 3 || f.ChannelStd.Any(v => !(v > 0))) errors.Add("featurize.mean and std need 3 values, std > 0");
        if (f.BatchSize is < 1 or > 256) errors.Add("featurize.batchSize must be in [1, 256]");
        if (f.AugmentedCopies is < 0 or > 64) errors.Add("featurize.augmentedCopies must be in [0, 64]");
        if (errors.Count > 0)
            throw new ProfileException($"{source}: invalid profile: {string.Join("; ", errors)}.");
    }

    /// <summary>Deep copy in one spelling per meaning, so equal settings serialise identically: object keys sorted
    /// ordinally, null members dropped (null and absent mean the same), numbers in shortest round-trip form (2 = 2.0).</summary>
    private static JsonNode? Canonicalize(JsonNode? node) => node switch
    {
        JsonObject o => new JsonObject(o.Where(kv => kv.Value is not null)
            .OrderBy(kv => kv.Key, StringComparer.Ordinal)
            .Select(kv => KeyValuePair.Create(kv.Key, Canonicalize(kv.Value)))),
        JsonArray a => new JsonArray(a.Select(Canonicalize).ToArray()),
        JsonValue v when v.GetValueKind() == JsonValueKind.Number => JsonValue.Create(v.GetValue<double>()),
        _ => node?.DeepClone(),
    };
}

public sealed class ProfileException(string message, Exception? inner = null) : Exception(message, inner);
