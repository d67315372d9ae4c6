using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Concerto.Ingest.Core.Captures;
using Concerto.Ingest.Core.Geometry;
using Concerto.Ingest.Formats.Arrays;
using Concerto.Ingest.Formats.PointClouds;
using Concerto.Ingest.Media.Ffmpeg;
using Concerto.Ingest.Synthetic.Models;
using Concerto.Ingest.Synthetic.Rendering;
using Concerto.Ingest.Synthetic.Scenes;
using FFMpegCore;
using FFMpegCore.Exceptions;
using FFMpegCore.Pipes;
using OpenCvSharp;

namespace Concerto.Ingest.Synthetic.Capture;

public sealed record SynthSettings(int Seed, int Frames, int Width = 640, int Height = 480, double Fps = 30, double FovDegrees = 70,
    int Points = 200_000)
{
    public void Validate()
    {
        var errors = new List<string>();
        if (Seed < 0) errors.Add("--seed must be >= 0");
        if (Frames < 1) errors.Add("--frames must be at least 1");
        if (Width < 16 || Height < 16 || Width % 2 != 0 || Height % 2 != 0) errors.Add("--width and --height must be even and at least 16 (H.264 4:2:0)");
        if (Width > 7680 || Height > 4320) errors.Add("--width/--height at most 7680x4320");
        if (Fps is <= 0 or > 240) errors.Add("--fps must be in (0, 240]");
        if (FovDegrees is < 10 or > 150) errors.Add("--fov must be in [10, 150] degrees");
        if (Points < 0) errors.Add("--points must be >= 0");
        if (errors.Count > 0) throw new ArgumentException(string.Join("; ", errors) + ".");
    }
}

/// <summary>Also write a VGGT-signature model that returns this capture's ground truth (see <see cref="VggtOracleModel"/>).</summary>
public sealed record OracleModelRequest(string Path, OracleWork? Work = null);

public sealed record SynthResult(string Folder, int Frames, TimeSpan RenderTime, TimeSpan TotalTime, long VideoBytes, int Points);

/// <summary>Renders a synthetic scene along its camera path into a capture folder: video.mp4 (H.264, frames piped
/// into ffmpeg), depth/ (uint16 mm), semantic/ (uint8 class, 255 = none), instance/ (uint16), pointcloud/ (ground
/// truth) and capture.json. Everything but the video is byte-identical for the same settings.</summary>
public sealed class SyntheticCaptureWriter(FfmpegTools tools)
{
    public const string VideoFile = "video.mp4";

    public async Task<SynthResult> WriteAsync(SynthSettings settings, string folder, IProgress<int>? progress, CancellationToken cancellationToken,
        OracleModelRequest? oracleModel = null)
    {
        ArgumentNullException.ThrowIfNull(settings);
        settings.Validate();
        var clock = Stopwatch.StartNew();
        // A re-run into the same folder replaces everything, so no frame of a longer earlier run survives.
        foreach (var sub in new[] { "depth", "semantic", "instance", "pointcloud" })
        {
            var subfolder = Path.Combine(folder, sub);
            if (Directory.Exists(subfolder)) Directory.Delete(subfolder, recursive: true);
            Directory.CreateDirectory(subfolder);
        }

        var scene = SceneGenerator.Generate(settings.Seed);
        var path = new CameraPath(scene, settings.Seed);
        var intrinsics = PinholeIntrinsics.FromHorizontalFov(settings.Width, settings.Height, settings.FovDegrees);
        var renderer = new FrameRenderer(scene, intrinsics);
        var frame = new RenderedFrame(settings.Width, settings.Height);
        var depthMm = new ushort[settings.Width * settings.Height];
        var frames = new List<CaptureFrame>(settings.Frames);
        var renderTime = TimeSpan.Zero;

        using var oracle = oracleModel is null ? null : new VggtOracleModel(oracleModel.Path, scene, intrinsics, oracleModel.Work);
        var videoPath = Path.Combine(folder, VideoFile);
        // Frames are rendered as FFMpegCore pulls them into ffmpeg's stdin (rgb24), each frame's depth, labels and camera
        // written beside it on the way.
        IEnumerable<IVideoFrame> Render()
        {
            for (var i = 0; i < settings.Frames; i++)
            {
                cancellationToken.ThrowIfCancellationRequested();
                var time = i / settings.Fps;
                var pose = path.PoseAt(time);
                var renderClock = Stopwatch.StartNew();
                renderer.Render(pose, frame);
                renderTime += renderClock.Elapsed;
                yield return new RgbFrame(frame.Rgb, settings.Width, settings.Height);

                oracle?.Add(pose, frame);
                for (var p = 0; p < depthMm.Length; p++) depthMm[p] = (ushort)Math.Min(ushort.MaxValue, Math.Round(frame.Depth[p] * 1000));
                var name = $"{i:D6}.png";
                WritePng(Path.Combine(folder, "depth", name), depthMm, settings, MatType.CV_16UC1);
                WritePng(Path.Combine(folder, "semantic", name), frame.Semantic, settings, MatType.CV_8UC1);
                WritePng(Path.Combine(folder, "instance", name), frame.Instance, settings, MatType.CV_16UC1);
                frames.Add(new CaptureFrame(i, Math.Round(time, 9), pose.ToMatrix4()));
                progress?.Report(i + 1);
            }
        }

        try
        {
            await FFMpegArguments.FromPipeInput(new RawVideoPipeSource(Render()) { FrameRate = settings.Fps })
                .OutputToFile(videoPath, overwrite: true, o => o
                    .WithVideoCodec("libx264")
                    .WithCustomArgument("-preset medium -crf 18 -pix_fmt yuv420p -movflags +faststart"))
                    .ProcessAsynchronously(throwOnError: true, new FFOptions { BinaryFolder = Path.GetDirectoryName(tools.Ffmpeg) ?? "" }, cancellationToken)
                .ConfigureAwait(false);
        }
        catch (FFMpegException e)
        {
            cancellationToken.ThrowIfCancellationRequested();
            throw new IOException($"ffmpeg could not encode {videoPath}: {e.Message}", e);
        }

        if (frames.Count != settings.Frames)
            throw new IOException($"ffmpeg stopped taking frames for {videoPath} after {frames.Count} of {settings.Frames}.");

        oracle?.Complete();

        var cloud = GroundTruthCloud.Sample(scene, settings.Points, settings.Seed);
        var cloudFolder = Path.Combine(folder, "pointcloud");
        PointCloudFiles.Write(cloudFolder, new PointCloudArrays(cloud.Coord, cloud.Color, cloud.Normal, cloud.Segment, cloud.Instance));

        var manifest = new CaptureManifest(
            CaptureManifest.FormatName, 1, "synthetic", VideoFile, settings.Width, settings.Height, settings.Fps,
            new CaptureIntrinsics(intrinsics.Fx, intrinsics.Fy, intrinsics.Cx, intrinsics.Cy),
            new CaptureImages("depth", "png16", UnitsPerMetre: 1000),
            new CaptureImages("semantic", "png8", Ignore: byte.MaxValue),
            new CaptureImages("instance", "png16"),
            Enum.GetValues<SemanticClass>().Select(c => new CaptureClass((int)c, c.ToString().ToLowerInvariant())).ToList(),
            new CapturePointCloud("pointcloud", cloud.Count),
            frames,
            settings.Seed);
        await File.WriteAllTextAsync(Path.Combine(folder, CaptureManifest.FileName),
            JsonSerializer.Serialize(manifest, CaptureManifest.JsonOptions), cancellationToken).ConfigureAwait(false);

        return new SynthResult(folder, settings.Frames, renderTime, clock.Elapsed, new FileInfo(videoPath).Length, cloud.Count);
    }

    /// <summary>One rendered frame as FFMpegCore hands it to ffmpeg: packed rgb24, row by row.</summary>
    private sealed class RgbFrame(byte[] rgb, int width, int height) : IVideoFrame
    {
        public int Width => width;
        public int Height => height;
        public string PixelFormat => "rgb24";

        public void Serialize(Stream pipe) => pipe.Write(rgb);

        public async Task SerializeAsync(Stream pipe, CancellationToken token) => await pipe.WriteAsync(rgb, token).ConfigureAwait(false);
    }

    private static void WritePng(string path, Array pixels, SynthSettings s, MatType type)
    {
        using var image = Mat.FromPixelData(s.Height, s.Width, type, pixels);
        if (!Cv2.ImWrite(path, image, [(int)ImwriteFlags.PngCompression, 3]))
            throw new IOException($"could not write {path}");
    }
}
