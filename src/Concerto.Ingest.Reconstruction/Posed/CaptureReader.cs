using System.Runtime.CompilerServices;
using System.Text.Json;
using Concerto.Ingest.Core.Captures;
using Concerto.Ingest.Core.Geometry;
using Concerto.Ingest.Core.Media;
using Concerto.Ingest.Media.Decode;
using Concerto.Ingest.Media.Ffmpeg;
using Concerto.Ingest.Reconstruction.Fusion;
using OpenCvSharp;

namespace Concerto.Ingest.Reconstruction.Posed;

/// <summary>Reads a capture folder (capture.json, its video and per-frame depth; the format `concerto synth` writes
/// and RGB-D exports are converted to) into depth frames for fusion. The video is decoded once, streaming, at the
/// capture's own size, so colour and depth share one pixel grid.</summary>
public sealed class CaptureReader(FfmpegTools tools)
{
    /// <summary>Loads and checks capture.json; errors name the file and what is wrong.</summary>
    public static CaptureManifest Load(string folder)
    {
        var path = Path.Combine(folder, CaptureManifest.FileName);
        if (!File.Exists(path)) throw new BadInputException($"{path}: not found; a capture folder needs {CaptureManifest.FileName}.");
        CaptureManifest? manifest;
        try
        {
            manifest = JsonSerializer.Deserialize<CaptureManifest>(File.ReadAllText(path), CaptureManifest.JsonOptions);
        }
        catch (JsonException e)
        {
            throw new BadInputException($"{path}: not valid capture JSON ({e.Message}).", e);
        }

        var errors = new List<string>();
        if (manifest is null) errors.Add("empty");
        else
        {
            if (manifest.Format != CaptureManifest.FormatName) errors.Add($"format is '{manifest.Format}', expected '{CaptureManifest.FormatName}'");
            if (manifest.Version != 1) errors.Add($"version {manifest.Version} is not supported (1 is)");
            if (manifest.Width < 2 || manifest.Height < 2) errors.Add("width and height must be given");
            if (manifest.Depth?.UnitsPerMetre is not > 0) errors.Add("depth.unitsPerMetre must be positive");
            if (manifest.Frames is not { Count: > 0 }) errors.Add("no frames");
            else if (manifest.Frames.Any(f => f.CameraToWorld is not { Count: 16 })) errors.Add("every frame needs a 16-value cameraToWorld");
            if (!File.Exists(Path.Combine(folder, manifest.Video ?? ""))) errors.Add($"video '{manifest.Video}' is missing");
        }

        if (errors.Count > 0) throw new BadInputException($"{path}: {string.Join("; ", errors)}.");
        return manifest!;
    }

    /// <summary>The frames whose index is in <paramref name="indices"/> (all when null), in order, with their index.</summary>
    public async IAsyncEnumerable<(int Index, DepthFrame Frame)> ReadAsync(string folder, CaptureManifest manifest, IReadOnlySet<int>? indices,
        [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(manifest);
        var size = new FrameSize(manifest.Width, manifest.Height);
        var intrinsics = new PinholeIntrinsics(manifest.Width, manifest.Height, manifest.Intrinsics.Fx, manifest.Intrinsics.Fy,
            manifest.Intrinsics.Cx, manifest.Intrinsics.Cy);
        await using var reader = RawFrameReader.Start(tools, Path.Combine(folder, manifest.Video), size, manifest.Fps, cancellationToken);
        await foreach (var frame in reader.ReadAllAsync(cancellationToken).ConfigureAwait(false))
        {
            var index = (int)frame.Index;
            if (index >= manifest.Frames.Count) break;
            if (indices is null || indices.Contains(index))
            {
                var rgb = frame.Pixels[..size.ByteCount];
                var depth = ReadDepth(folder, manifest, index);
                yield return (index, new DepthFrame(manifest.Width, manifest.Height, depth, null, rgb, intrinsics,
                    RigidTransform.FromMatrix4(manifest.Frames[index].CameraToWorld)));
            }

            reader.Recycle(frame);
        }
    }

    private static float[] ReadDepth(string folder, CaptureManifest manifest, int index)
    {
        var path = Path.Combine(folder, manifest.Depth.Folder, $"{index:D6}.png");
        using var image = Cv2.ImRead(path, ImreadModes.Unchanged);
        if (image.Empty()) throw new BadInputException($"{path}: missing or not an image.");
        if (image.Type() != MatType.CV_16UC1 || image.Cols != manifest.Width || image.Rows != manifest.Height)
            throw new BadInputException($"{path}: expected a {manifest.Width}x{manifest.Height} 16-bit single-channel PNG.");
        image.GetArray(out ushort[] raw);
        var metres = new float[raw.Length];
        var scale = 1.0 / manifest.Depth.UnitsPerMetre!.Value;
        for (var i = 0; i < raw.Length; i++) metres[i] = (float)(raw[i] * scale);
        return metres;
    }
}
