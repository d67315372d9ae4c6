using Concerto.Ingest.Core.Geometry;
using Concerto.Ingest.Reconstruction.Classic.Stereo;
using Concerto.Ingest.Synthetic.Capture;
using Concerto.Ingest.Synthetic.Rendering;
using Concerto.Ingest.Synthetic.Scenes;

namespace Concerto.Ingest.Reconstruction.Classic.Tests.Stereo;

/// <summary>A procedural room rendered along its hand-held path at 320 x 240: exact poses, intrinsics and z-depth.</summary>
internal sealed class SyntheticStereo
{
    public const int Width = 320;
    public const int Height = 240;
    public const double FrameSeconds = 0.1;    // 4.5 cm of walking between frames
    private readonly FrameRenderer _renderer;
    private readonly CameraPath _path;
    private readonly Dictionary<int, RenderedFrame> _frames = [];

    public SyntheticStereo(int seed, int frames)
    {
        var scene = SceneGenerator.Generate(seed);
        _path = new CameraPath(scene, seed);
        Intrinsics = PinholeIntrinsics.FromHorizontalFov(Width, Height, 70);
        _renderer = new FrameRenderer(scene, Intrinsics);
        Poses = Enumerable.Range(0, frames).Select(i => _path.PoseAt(i * FrameSeconds)).ToList();
    }

    public PinholeIntrinsics Intrinsics { get; }
    public IReadOnlyList<RigidTransform> Poses { get; }

    public RenderedFrame Frame(int index)
    {
        if (!_frames.TryGetValue(index, out var frame))
        {
            frame = new RenderedFrame(Width, Height);
            _renderer.Render(Poses[index], frame);
            _frames[index] = frame;
        }

        return frame;
    }

    public StereoView View(int index) => new(Width, Height, Frame(index).Rgb, Intrinsics, Poses[index]);

    /// <summary>Sparse world points as structure from motion would give them: true depth at a few random pixels.</summary>
    public List<V3> SparsePoints(int index, int count, int seed)
    {
        var rng = new Random(seed);
        var frame = Frame(index);
        var points = new List<V3>(count);
        while (points.Count < count)
        {
            int u = rng.Next(Width), v = rng.Next(Height);
            var z = frame.Depth[v * Width + u];
            if (z > 0) points.Add(Poses[index].Apply(Intrinsics.Ray(u, v) * z));
        }

        return points;
    }
}

/// <summary>Stereo tests run one at a time: each uses both cores (rendering, the sweep's threads), and their timings mean something.</summary>
[CollectionDefinition(Name)]
public sealed class StereoCollection
{
    public const string Name = "Stereo";
}
