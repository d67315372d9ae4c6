using System.Runtime.InteropServices;
using Concerto.Ingest.Core.Geometry;
using Concerto.Ingest.Reconstruction.Vggt;
using Concerto.Ingest.Synthetic.Rendering;
using Concerto.Ingest.Synthetic.Scenes;
using OpenCvSharp;
using static Concerto.Ingest.Synthetic.Models.OnnxGraphBuilder;

namespace Concerto.Ingest.Synthetic.Models;

/// <summary>Extra work in the oracle graph, so benchmarks can give the model a cost: a 14x14 patch embedding to
/// <see cref="Width"/> channels, then <see cref="Layers"/> token-wise Width x Width MatMul + ReLU layers, summed into the
/// outputs times zero. 0 layers = no extra work.</summary>
public sealed record OracleWork(int Layers = 0, int Width = 768)
{
    /// <summary>Multiply-adds x 2 per frame for <paramref name="tokens"/> patch tokens.</summary>
    public double GflopPerFrame(int tokens) => Layers == 0 ? 0 : 2.0 * tokens * Width * (3 * 14 * 14 + (double)Layers * Width) / 1e9;
}

/// <summary>Writes an ONNX model with VGGT's signature (input_images [N,3,H,W] in [0,1]; pose_enc, depth, depth_conf,
/// world_points, world_points_conf) whose outputs are the exact ground truth of a synthetic capture, for whatever frames
/// of that capture it is given: each input frame is recognised by its 14x14 block means (nearest of the capture's
/// frames), and that frame's rendered depth and camera are gathered from tables. The world is the capture's first camera
/// at a scale that makes its median depth 1 (as VGGT's are); depth_conf = 1 + 2 / (0.25 + depth).
/// <para>Crop-mode models only (fixed H and W from the capture's frame size); the tables go to an external
/// "model.onnx_data" beside the model, written frame by frame, as the public export keeps its weights.</para></summary>
public sealed class VggtOracleModel : IDisposable
{
    private const int Patch = InputGeometry.Patch;
    private readonly string _path;
    private readonly string _dataName;
    private readonly FileStream _data;
    private readonly Scene _scene;
    private readonly OracleWork _work;
    private readonly PinholeIntrinsics _network;
    private readonly FrameRenderer _renderer;
    private readonly RenderedFrame _networkFrame;
    private readonly List<float[]> _signatures = [];
    private readonly List<double[]> _poses = [];
    private readonly List<RigidTransform> _worldToCamera = [];
    private RigidTransform? _worldFromFirst;
    private double _scale;

    /// <param name="captureIntrinsics">The capture's camera, for frames of its size.</param>
    public VggtOracleModel(string path, Scene scene, PinholeIntrinsics captureIntrinsics, OracleWork? work = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        ArgumentNullException.ThrowIfNull(scene);
        ArgumentNullException.ThrowIfNull(captureIntrinsics);
        Geometry = InputGeometry.Create(captureIntrinsics.Width, captureIntrinsics.Height, VggtInputMode.Crop);
        if (Geometry.ResizedHeight != Geometry.NetworkHeight)
            throw new ArgumentException($"{captureIntrinsics.Width}x{captureIntrinsics.Height} frames would be cropped; the oracle model takes frames at most as tall as wide");
        _path = Path.GetFullPath(path);
        _dataName = Path.GetFileName(_path) + "_data";
        _scene = scene;
        _work = work ?? new OracleWork();
        int w = Geometry.NetworkWidth, h = Geometry.NetworkHeight;
        // The camera VGGT's decoding yields for these pixels: focal lengths follow the resize, principal point at (W/2, H/2).
        _network = new PinholeIntrinsics(w, h, captureIntrinsics.Fx * Geometry.ScaleX, captureIntrinsics.Fy * Geometry.ScaleY, w / 2.0, h / 2.0);
        _renderer = new FrameRenderer(scene, _network);
        _networkFrame = new RenderedFrame(w, h);
        Directory.CreateDirectory(Path.GetDirectoryName(_path)!);
        _data = new FileStream(Path.Combine(Path.GetDirectoryName(_path)!, _dataName), FileMode.Create, FileAccess.Write);
    }

    public InputGeometry Geometry { get; }

    public int Frames => _signatures.Count;

    /// <summary>Adds the capture's next frame: its pose and the image as the capture shows it (capture size, RGB24).</summary>
    public void Add(RigidTransform cameraToWorld, RenderedFrame image)
    {
        ArgumentNullException.ThrowIfNull(cameraToWorld);
        ArgumentNullException.ThrowIfNull(image);
        if (image.Width != Geometry.OriginalWidth || image.Height != Geometry.OriginalHeight)
            throw new ArgumentException($"the frame is {image.Width}x{image.Height}; the model was set up for {Geometry.OriginalWidth}x{Geometry.OriginalHeight}");
        _signatures.Add(Signature(image.Rgb));
        _renderer.Render(cameraToWorld, _networkFrame);
        if (_worldFromFirst is null)
        {
            _worldFromFirst = cameraToWorld;
            var valid = _networkFrame.Depth.Where(d => d > 0).Order().ToArray();
            _scale = valid.Length > 0 ? 1 / valid[valid.Length / 2] : 1;
        }

        // In the model's world (first camera, scaled): X_c' = s X_c and X = C0 X', so E' = (R_wc R0, s (R_wc t0 + t_wc)).
        var worldToCamera = cameraToWorld.Inverse();
        var local = new RigidTransform((Mat3.FromArray(worldToCamera.R) * Mat3.FromArray(_worldFromFirst.R)).ToArray(), worldToCamera.Apply(_worldFromFirst.T) * _scale);
        _worldToCamera.Add(local);
        _poses.Add(PoseEncoding.Encode(local, _network));

        var depth = _networkFrame.Depth;
        var scaled = new float[depth.Length];
        for (var i = 0; i < depth.Length; i++) scaled[i] = (float)(depth[i] * _scale);
        _data.Write(MemoryMarshal.AsBytes(scaled.AsSpan()));
    }

    /// <summary>Writes the graph and closes the weights file.</summary>
    public void Complete()
    {
        if (Frames == 0) throw new InvalidOperationException("the oracle model needs at least one frame");
        int k = Frames, h = Geometry.NetworkHeight, w = Geometry.NetworkWidth, plane = h * w, d = _signatures[0].Length;
        var g = new OnnxGraphBuilder("vggt_oracle", "concerto synth (oracle)", _data, _dataName);
        g.Input("input_images", ["N", 3, h, w]);
        g.External("depth_table", [k, h, w], k * plane * 4L, 0);

        // Recognise each input frame: argmin_k |x - t_k|^2 = argmin_k (|t_k|^2 - 2 x.t_k).
        g.Node("AveragePool", ["input_images"], ["blocks"], Ints("kernel_shape", Patch, Patch), Ints("strides", Patch, Patch));
        g.Node("Flatten", ["blocks"], ["signature"], Int("axis", 1));
        var table = _signatures.SelectMany(s => s).ToArray();
        g.Constant("signature_table", [k, d], table);
        g.Constant("signature_norms", [k], _signatures.Select(s => s.Sum(v => v * v)).ToArray());
        g.Node("Gemm", ["signature", "signature_table", "signature_norms"], ["score"], Float("alpha", -2), Int("transB", 1));
        g.Node("ArgMin", ["score"], ["frame"], Int("axis", 1), Int("keepdims", 0));

        g.Node("Gather", ["depth_table", "frame"], ["depth_frames"], Int("axis", 0));
        var depth = "depth_frames";
        if (_work.Layers > 0) depth = AddWork(g, depth);
        g.Constant("axes_0_4", [2], [0L, 4L]);
        g.Constant("axes_0", [1], [0L]);
        g.Node("Unsqueeze", [depth, "axes_0_4"], ["depth"]);
        g.Output("depth", [1, "N", h, w, 1]);

        g.Constant("conf_numerator", [], [2f]);
        g.Constant("conf_offset", [], [0.25f]);
        g.Constant("one", [], [1f]);
        g.Node("Add", [depth, "conf_offset"], ["conf_denominator"]);
        g.Node("Div", ["conf_numerator", "conf_denominator"], ["conf_ratio"]);
        g.Node("Add", ["conf_ratio", "one"], ["conf_frames"]);
        g.Node("Unsqueeze", ["conf_frames", "axes_0"], ["depth_conf"]);
        g.Output("depth_conf", [1, "N", h, w]);
        g.Node("Identity", ["depth_conf"], ["world_points_conf"]);
        g.Output("world_points_conf", [1, "N", h, w]);

        g.Constant("pose_table", [k, 9], _poses.SelectMany(p => p.Select(v => (float)v)).ToArray());
        g.Node("Gather", ["pose_table", "frame"], ["pose_frames"], Int("axis", 0));
        g.Node("Unsqueeze", ["pose_frames", "axes_0"], ["pose_enc"]);
        g.Output("pose_enc", [1, "N", 9]);

        // Point map: X_w = R^T (d ray - t), as rows (d ray - t) R.
        var rays = new float[3 * plane];
        for (var v = 0; v < h; v++)
        for (var u = 0; u < w; u++)
        {
            var ray = _network.Ray(u, v);
            var i = 3 * (v * w + u);
            (rays[i], rays[i + 1], rays[i + 2]) = ((float)ray.X, (float)ray.Y, (float)ray.Z);
        }

        g.Constant("rays", [1, plane, 3], rays);
        g.Constant("depth_column", [3], [0L, (long)plane, 1L]);
        g.Node("Reshape", [depth, "depth_column"], ["depth_flat"]);
        g.Node("Mul", ["rays", "depth_flat"], ["camera_points"]);
        g.Constant("translation_table", [k, 1, 3], _worldToCamera.SelectMany(e => new[] { (float)e.T.X, (float)e.T.Y, (float)e.T.Z }).ToArray());
        g.Constant("rotation_table", [k, 3, 3], _worldToCamera.SelectMany(e => e.R.Select(r => (float)r)).ToArray());
        g.Node("Gather", ["translation_table", "frame"], ["translations"], Int("axis", 0));
        g.Node("Gather", ["rotation_table", "frame"], ["rotations"], Int("axis", 0));
        g.Node("Sub", ["camera_points", "translations"], ["centred_points"]);
        g.Node("MatMul", ["centred_points", "rotations"], ["world_rows"]);
        g.Constant("points_shape", [5], [1L, -1L, h, w, 3L]);
        g.Node("Reshape", ["world_rows", "points_shape"], ["world_points"]);
        g.Output("world_points", [1, "N", h, w, 3]);

        g.Save(_path);
        _data.Dispose();
    }

    public void Dispose() => _data.Dispose();

    /// <summary>The network input's 14x14 block means, RGB planes, as the graph computes them from the input tensor.</summary>
    private float[] Signature(byte[] rgb)
    {
        int w = Geometry.NetworkWidth, h = Geometry.NetworkHeight;
        using var source = Mat.FromPixelData(Geometry.OriginalHeight, Geometry.OriginalWidth, MatType.CV_8UC3, rgb);
        using var resized = new Mat();
        Cv2.Resize(source, resized, new Size(w, h), 0, 0, InterpolationFlags.Cubic);
        using var asFloat = new Mat();
        resized.ConvertTo(asFloat, MatType.CV_32FC3, 1.0 / 255);
        using var blocks = new Mat();
        Cv2.Resize(asFloat, blocks, new Size(w / Patch, h / Patch), 0, 0, InterpolationFlags.Area);
        blocks.GetArray(out Vec3f[] means);
        var signature = new float[3 * means.Length];
        for (var i = 0; i < means.Length; i++)
            (signature[i], signature[means.Length + i], signature[2 * means.Length + i]) = (means[i].Item0, means[i].Item1, means[i].Item2);
        return signature;
    }

    /// <summary>Patch embedding + MatMul/ReLU layers whose mean, times zero, is added to the depth (so nothing folds).</summary>
    private string AddWork(OnnxGraphBuilder g, string depth)
    {
        var random = new Random(7);
        float[] Weights(int n, int fanIn)
        {
            var values = new float[n];
            var bound = (float)Math.Sqrt(1.0 / fanIn);
            for (var i = 0; i < values.Length; i++) values[i] = ((float)random.NextDouble() * 2 - 1) * bound;
            return values;
        }

        var width = _work.Width;
        g.Constant("work_embed", [width, 3, Patch, Patch], Weights(width * 3 * Patch * Patch, 3 * Patch * Patch));
        g.Node("Conv", ["input_images", "work_embed"], ["work_grid"], Ints("strides", Patch, Patch));
        g.Constant("work_tokens_shape", [3], [0L, width, -1L]);
        g.Node("Reshape", ["work_grid", "work_tokens_shape"], ["work_channels"]);
        g.Node("Transpose", ["work_channels"], ["work_0"], Ints("perm", 0, 2, 1));
        for (var l = 0; l < _work.Layers; l++)
        {
            g.Constant($"work_weight_{l}", [width, width], Weights(width * width, width));
            g.Node("MatMul", [$"work_{l}", $"work_weight_{l}"], [$"work_linear_{l}"]);
            g.Node("Relu", [$"work_linear_{l}"], [$"work_{l + 1}"]);
        }

        g.Node("ReduceMean", [$"work_{_work.Layers}"], ["work_mean"], Int("keepdims", 0));
        g.Constant("zero", [], [0f]);
        g.Node("Mul", ["work_mean", "zero"], ["work_zero"]);
        g.Node("Add", [depth, "work_zero"], ["depth_worked"]);
        return "depth_worked";
    }
}
