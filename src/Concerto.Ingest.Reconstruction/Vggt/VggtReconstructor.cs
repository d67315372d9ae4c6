using System.Diagnostics;
using System.Runtime.InteropServices;
using Concerto.Ingest.Core.Geometry;
using Concerto.Ingest.Core.Media;
using Concerto.Ingest.Reconstruction.Fusion;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using OpenCvSharp;

namespace Concerto.Ingest.Reconstruction.Vggt;

/// <summary>An RGB24 image, row-major, 3 bytes per pixel.</summary>
public sealed record RgbFrame
{
    public RgbFrame(int width, int height, byte[] rgb)
    {
        ArgumentNullException.ThrowIfNull(rgb);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(width);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(height);
        if (rgb.Length != 3L * width * height)
            throw new ArgumentException($"an RGB24 {width}x{height} frame has {3L * width * height} bytes; got {rgb.Length}", nameof(rgb));
        Width = width;
        Height = height;
        Rgb = rgb;
    }

    public int Width { get; }
    public int Height { get; }
    public byte[] Rgb { get; }

    /// <summary>Reads a keyframe image (JPEG, PNG) as RGB24.</summary>
    public static RgbFrame Read(string path)
    {
        using var bgr = Cv2.ImRead(path, ImreadModes.Color);
        if (bgr.Empty()) throw new BadInputException($"{path}: keyframe image is missing or unreadable.");
        using var rgb = new Mat();
        Cv2.CvtColor(bgr, rgb, ColorConversionCodes.BGR2RGB);
        int width = rgb.Cols, height = rgb.Rows;
        rgb.GetArray(out Vec3b[] pixels);
        var bytes = new byte[3 * pixels.Length];
        for (var i = 0; i < pixels.Length; i++) (bytes[3 * i], bytes[3 * i + 1], bytes[3 * i + 2]) = (pixels[i].Item0, pixels[i].Item1, pixels[i].Item2);
        return new RgbFrame(width, height, bytes);
    }
}

/// <summary>One frame of a window.
/// <para><see cref="Depth"/> lies on the network pixel grid (<see cref="InputGeometry.NetworkWidth"/> x
/// <see cref="InputGeometry.NetworkHeight"/>) with network-pixel intrinsics, camera-to-world = the inverse of the decoded
/// world-to-camera (world = the window's first camera), RGB = the network input image, confidence = depth_conf; depth and
/// confidence are 0 in the padding (pad mode).</para>
/// <para><see cref="NetworkCamera"/> is the decoded camera; <see cref="OriginalCamera"/> the same camera with intrinsics in
/// the original keyframe's pixels (resize and crop/pad undone), for storing.</para>
/// <para><see cref="WorldPoints"/> ([H*W*3], world frame) and <see cref="WorldPointsConfidence"/> are set only when
/// <see cref="VggtSettings.UsePointMap"/> is on (confidence 0 in the padding).</para></summary>
public sealed record VggtFrame(DepthFrame Depth, VggtCamera NetworkCamera, VggtCamera OriginalCamera, float[]? WorldPoints,
    float[]? WorldPointsConfidence)
{
    /// <summary>What fusion takes: <see cref="Depth"/>, or with the point-map branch the same frame carrying the world
    /// points and their confidence instead.</summary>
    public DepthFrame ForFusion(bool pointMap)
    {
        if (!pointMap) return Depth;
        if (WorldPoints is null || WorldPointsConfidence is null)
            throw new InvalidOperationException("the point-map branch needs a window reconstructed with UsePointMap");
        var d = Depth;
        return new DepthFrame(d.Width, d.Height, d.Depth, WorldPointsConfidence, d.Rgb, d.Intrinsics, d.CameraToWorld, WorldPoints);
    }
}

/// <summary>A reconstructed window, with the time spent inside <see cref="InferenceSession.Run(RunOptions, IReadOnlyCollection{string}, IReadOnlyCollection{OrtValue}, IReadOnlyCollection{string})"/>
/// and in the whole call (preprocessing, tensor copies and decoding make the difference).</summary>
public sealed record VggtWindow(InputGeometry Geometry, IReadOnlyList<VggtFrame> Frames, TimeSpan InferenceTime, TimeSpan TotalTime,
    string ModelHash, string ExecutionProvider)
{
    public TimeSpan OutsideInferenceTime => TotalTime - InferenceTime;
}

/// <summary>Runs a window of frames through a <see cref="VggtModel"/> in one session call and decodes the outputs. Does not
/// own the model. One window at a time per instance (it reuses its input buffer); a window already uses the whole
/// device.</summary>
public sealed class VggtReconstructor
{
    private readonly VggtModel _model;

    // The input tensor's memory, kept between windows of the same size (a window is tens to hundreds of MB; fresh
    // arrays cost page faults and gen-2 collections every call).
    private float[]? _input;

    public VggtReconstructor(VggtModel model)
    {
        ArgumentNullException.ThrowIfNull(model);
        _model = model;
    }

    /// <summary>The preprocessing geometry for frames of this size, checked against the model's fixed input size.</summary>
    public InputGeometry GeometryFor(int width, int height)
    {
        var geometry = InputGeometry.Create(width, height, _model.InputMode, _model.TargetSize);
        if ((_model.FixedHeight is { } h && h != geometry.NetworkHeight) || (_model.FixedWidth is { } w && w != geometry.NetworkWidth))
            throw new BadInputException($"VGGT model file {_model.ModelPath} takes {_model.FixedWidth?.ToString(Inv) ?? "any"}x" +
                $"{_model.FixedHeight?.ToString(Inv) ?? "any"} inputs, but {width}x{height} frames become {geometry.NetworkWidth}x" +
                $"{geometry.NetworkHeight} in {_model.InputMode} mode: use the other mode or another export");
        return geometry;
    }

    /// <summary>Preprocesses the frames (all the same size), runs one session call for the window and decodes cameras,
    /// depth, confidence (and the point map when enabled) per frame.</summary>
    public VggtWindow Reconstruct(IReadOnlyList<RgbFrame> frames, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(frames);
        if (frames.Count == 0) throw new ArgumentException("a VGGT window needs at least one frame", nameof(frames));
        var total = Stopwatch.StartNew();
        var first = frames[0] ?? throw new ArgumentException("frame 0 is null", nameof(frames));
        for (var i = 1; i < frames.Count; i++)
        {
            var f = frames[i] ?? throw new ArgumentException($"frame {i} is null", nameof(frames));
            if (f.Width != first.Width || f.Height != first.Height)
                throw new ArgumentException($"frame {i} is {f.Width}x{f.Height}, frame 0 is {first.Width}x{first.Height}: a window's frames share one size", nameof(frames));
        }

        if (_model.FixedFrames is { } fixedFrames && fixedFrames != frames.Count)
            throw new BadInputException($"VGGT model file {_model.ModelPath} takes exactly {fixedFrames} frames per call; " +
                $"the window has {frames.Count}: set the window size to {fixedFrames}");

        var geometry = GeometryFor(first.Width, first.Height);
        int s = frames.Count, h = geometry.NetworkHeight, w = geometry.NetworkWidth, plane = h * w;
        var length = checked(s * 3 * plane);
        if (_input is null || _input.Length != length) _input = new float[length];
        var chw = _input;
        var images = new byte[s][];
        var pinned = GCHandle.Alloc(chw, GCHandleType.Pinned);
        try
        {
            var origin = pinned.AddrOfPinnedObject();
            Parallel.For(0, s, new ParallelOptions { CancellationToken = cancellationToken }, i =>
            {
                images[i] = NetworkImage(frames[i], geometry);
                ToChw(images[i], h, w, origin + (nint)i * 3 * plane * sizeof(float));
            });
        }
        finally
        {
            pinned.Free();
        }

        long[] shape = _model.InputRank == 5 ? [1, s, 3, h, w] : [s, 3, h, w];
        var settings = _model.Settings;
        var names = new List<string> { settings.PoseEncodingOutput, settings.DepthOutput, settings.DepthConfidenceOutput };
        if (settings.UsePointMap) names.AddRange([settings.WorldPointsOutput, settings.WorldPointsConfidenceOutput]);

        TimeSpan inference;
        VggtFrame[] results;
        using (var input = CreateInput(chw, shape))
        using (var runOptions = new RunOptions())
        using (cancellationToken.Register(() => runOptions.Terminate = true))
        {
            cancellationToken.ThrowIfCancellationRequested();
            var run = Stopwatch.StartNew();
            IDisposableReadOnlyCollection<OrtValue> outputs;
            try
            {
                outputs = _model.Session.Run(runOptions, [settings.InputName], [input], names);
            }
            catch (OnnxRuntimeException) when (cancellationToken.IsCancellationRequested)
            {
                throw new OperationCanceledException("VGGT inference was cancelled", cancellationToken);
            }

            inference = run.Elapsed;
            using (outputs)
            {
                var tensors = names.Select((n, k) => new Output(n, outputs.ElementAt(k), _model.ModelPath)).ToArray();
                tensors[0].ExpectShape([s, PoseEncoding.Length]);
                tensors[1].ExpectShape([s, h, w]);
                tensors[2].ExpectShape([s, h, w]);
                if (settings.UsePointMap)
                {
                    tensors[3].ExpectShape([s, h, w, 3]);
                    tensors[4].ExpectShape([s, h, w]);
                }

                var cameras = new VggtCamera[s];
                Span<float> encoding = stackalloc float[PoseEncoding.Length];
                for (var i = 0; i < s; i++)
                {
                    tensors[0].CopyFrame(i, encoding);
                    try
                    {
                        cameras[i] = PoseEncoding.Decode(encoding, h, w);
                    }
                    catch (ArgumentException e)
                    {
                        throw new BadInputException($"VGGT model file {_model.ModelPath}: output '{settings.PoseEncodingOutput}' " +
                            $"of frame {i} is not a camera ({e.Message})", e);
                    }
                }

                results = new VggtFrame[s];
                Parallel.For(0, s, new ParallelOptions { CancellationToken = cancellationToken },
                    i => results[i] = DecodeFrame(i, cameras[i], geometry, images[i], tensors, settings.UsePointMap));
            }
        }

        return new VggtWindow(geometry, results, inference, total.Elapsed, _model.ModelHash, _model.ExecutionProvider);
    }

    private static readonly IFormatProvider Inv = System.Globalization.CultureInfo.InvariantCulture;

    private OrtValue CreateInput(float[] chw, long[] shape)
    {
        if (!_model.InputIsFloat16) return OrtValue.CreateTensorValueFromMemory(chw, shape);
        var value = OrtValue.CreateAllocatedTensorValue(OrtAllocator.DefaultInstance, TensorElementType.Float16, shape);
        var halves = MemoryMarshal.Cast<Float16, Half>(value.GetTensorMutableDataAsSpan<Float16>());
        for (var i = 0; i < halves.Length; i++) halves[i] = (Half)chw[i];
        return value;
    }

    private static VggtFrame DecodeFrame(int i, VggtCamera camera, InputGeometry g, byte[] image, Output[] tensors, bool pointMap)
    {
        int h = g.NetworkHeight, w = g.NetworkWidth, plane = h * w;
        var depth = new float[plane];
        var confidence = new float[plane];
        tensors[1].CopyFrame(i, depth);
        tensors[2].CopyFrame(i, confidence);
        ClearOutside(g, depth, 1);
        ClearOutside(g, confidence, 1);
        float[]? points = null, pointsConfidence = null;
        if (pointMap)
        {
            points = new float[3 * plane];
            pointsConfidence = new float[plane];
            tensors[3].CopyFrame(i, points);
            tensors[4].CopyFrame(i, pointsConfidence);
            ClearOutside(g, pointsConfidence, 1);
        }

        var frame = new DepthFrame(w, h, depth, confidence, image, camera.Intrinsics, camera.WorldToCamera.Inverse());
        var original = camera with { Intrinsics = g.ToOriginal(camera.Intrinsics) };
        return new VggtFrame(frame, camera, original, points, pointsConfidence);
    }

    /// <summary>Zeroes the network pixels outside the resized image (the padding; nothing in crop mode).</summary>
    private static void ClearOutside(InputGeometry g, Span<float> values, int channels)
    {
        int w = g.NetworkWidth, h = g.NetworkHeight;
        int x0 = Math.Max(0, g.OffsetX), x1 = Math.Min(w, g.OffsetX + g.ResizedWidth);
        int y0 = Math.Max(0, g.OffsetY), y1 = Math.Min(h, g.OffsetY + g.ResizedHeight);
        if (x0 == 0 && y0 == 0 && x1 == w && y1 == h) return;
        var row = w * channels;
        for (var y = 0; y < h; y++)
        {
            var line = values.Slice(y * row, row);
            if (y < y0 || y >= y1) line.Clear();
            else
            {
                line[..(x0 * channels)].Clear();
                line[(x1 * channels)..].Clear();
            }
        }
    }

    /// <summary>The network input image as RGB24: bicubic resize (OpenCV), then the crop or the white padding.</summary>
    private static byte[] NetworkImage(RgbFrame frame, InputGeometry g)
    {
        int rw = g.ResizedWidth, rh = g.ResizedHeight;
        byte[] resized;
        if (frame.Width == rw && frame.Height == rh) resized = frame.Rgb;
        else
        {
            resized = new byte[3 * rw * rh];
            using var source = Mat.FromPixelData(frame.Height, frame.Width, MatType.CV_8UC3, frame.Rgb);
            using var target = Mat.FromPixelData(rh, rw, MatType.CV_8UC3, resized);
            var data = target.Data;
            Cv2.Resize(source, target, new Size(rw, rh), 0, 0, InterpolationFlags.Cubic);
            if (target.Data != data) throw new InvalidOperationException("OpenCV reallocated the resize target");
        }

        int w = g.NetworkWidth, h = g.NetworkHeight;
        var image = new byte[3 * w * h];
        if (g.Mode == VggtInputMode.Pad) image.AsSpan().Fill(255);
        int x0 = Math.Max(0, g.OffsetX), x1 = Math.Min(w, g.OffsetX + rw);
        int y0 = Math.Max(0, g.OffsetY), y1 = Math.Min(h, g.OffsetY + rh);
        for (var y = y0; y < y1; y++)
        {
            var source = resized.AsSpan((((y - g.OffsetY) * rw) + (x0 - g.OffsetX)) * 3, (x1 - x0) * 3);
            source.CopyTo(image.AsSpan(((y * w) + x0) * 3));
        }

        return image;
    }

    /// <summary>RGB24 (H x W x 3) to three float planes in [0, 1] at <paramref name="target"/> (pinned memory), with
    /// OpenCV's vectorised split and conversion.</summary>
    private static void ToChw(byte[] rgb, int h, int w, nint target)
    {
        using var image = Mat.FromPixelData(h, w, MatType.CV_8UC3, rgb);
        var planes = Cv2.Split(image);
        try
        {
            for (var c = 0; c < 3; c++)
            {
                var address = target + (nint)c * h * w * sizeof(float);
                using var plane = Mat.FromPixelData(h, w, MatType.CV_32FC1, address);
                planes[c].ConvertTo(plane, MatType.CV_32FC1, 1.0 / 255);
                if (plane.Data != address) throw new InvalidOperationException("OpenCV reallocated the input plane");
            }
        }
        finally
        {
            foreach (var p in planes) p.Dispose();
        }
    }

    /// <summary>A named output with its run-time shape; copies one frame's slice out as float32.</summary>
    private sealed class Output
    {
        private readonly OrtValue _value;
        private readonly bool _half;
        private readonly string _modelPath;

        public Output(string name, OrtValue value, string modelPath)
        {
            Name = name;
            _value = value;
            _modelPath = modelPath;
            var info = value.GetTensorTypeAndShape();
            Shape = info.Shape;
            _half = info.ElementDataType switch
            {
                TensorElementType.Float => false,
                TensorElementType.Float16 => true,
                var t => throw new BadInputException($"VGGT model file {modelPath}: output '{name}' is {t}; expected float32 or float16"),
            };
        }

        public string Name { get; }
        public long[] Shape { get; }

        /// <summary>The shape with its size-1 dimensions dropped must equal <paramref name="expected"/> with its size-1
        /// dimensions dropped ([1,S,H,W,1] matches [S,H,W]).</summary>
        public void ExpectShape(long[] expected)
        {
            var actual = Shape.Where(d => d != 1);
            if (!actual.SequenceEqual(expected.Where(d => d != 1)))
                throw new BadInputException($"VGGT model file {_modelPath}: output '{Name}' has shape [{string.Join(",", Shape)}]; " +
                    $"expected [1,{string.Join(",", expected)}] for this window");
        }

        public void CopyFrame(int frame, Span<float> target)
        {
            var n = target.Length;
            if (_half)
            {
                var source = MemoryMarshal.Cast<Float16, Half>(_value.GetTensorDataAsSpan<Float16>()).Slice(frame * n, n);
                for (var i = 0; i < n; i++) target[i] = (float)source[i];
            }
            else
            {
                _value.GetTensorDataAsSpan<float>().Slice(frame * n, n).CopyTo(target);
            }
        }
    }
}
