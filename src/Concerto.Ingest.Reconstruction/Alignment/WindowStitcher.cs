using Concerto.Ingest.Core.Geometry;
using Concerto.Ingest.Reconstruction.Fusion;

namespace Concerto.Ingest.Reconstruction.Alignment;

/// <summary>How window k was placed: the similarity from its own world into the first window's, and the fit on the
/// overlapping frames.</summary>
public sealed record WindowAlignment(int Window, Sim3 ToGlobal, int Pairs, double WeightedRmsResidual, int Iterations);

/// <summary>Stitches reconstruction windows (each in its own world and scale, as VGGT gives them) into the first
/// window's world: a window is aligned to the previous one by a robust Sim(3) on the points of their shared frames
/// (same pixel unprojected in both), and the transforms chain because the previous window is already global.</summary>
public sealed class WindowStitcher(RobustSim3Settings? settings = null, int pixelStride = 4)
{
    private Dictionary<int, DepthFrame> _previous = [];
    private readonly List<WindowAlignment> _alignments = [];

    public IReadOnlyList<WindowAlignment> Alignments => _alignments;

    /// <summary>Returns the window's frames moved into the global world (overlap frames included).</summary>
    public IReadOnlyList<(int FrameIndex, DepthFrame Frame)> Add(IReadOnlyList<(int FrameIndex, DepthFrame Frame)> window)
    {
        ArgumentNullException.ThrowIfNull(window);
        var toGlobal = Sim3.Identity;
        if (_alignments.Count > 0)
        {
            var shared = window.Where(w => _previous.ContainsKey(w.FrameIndex)).ToList();
            if (shared.Count == 0)
                throw new InvalidOperationException($"window {_alignments.Count} shares no frame with the previous one: windows must overlap");
            var (source, sourceConfidence, target, targetConfidence) = Pairs(shared);
            var fit = RobustSim3.Estimate(source, sourceConfidence, target, targetConfidence, settings);
            toGlobal = fit.Transform;
            _alignments.Add(new WindowAlignment(_alignments.Count, toGlobal, fit.PairsKept, fit.WeightedRmsResidual, fit.Iterations));
        }
        else
        {
            _alignments.Add(new WindowAlignment(0, toGlobal, 0, 0, 0));
        }

        var global = window.Select(w => (w.FrameIndex, Transform(w.Frame, toGlobal))).ToList();
        _previous = global.ToDictionary(g => g.FrameIndex, g => g.Item2);
        return global;
    }

    /// <summary>A frame seen from a world moved by a similarity: the rigid part moves the camera, the scale multiplies
    /// depth (X = s R (R_c x + t_c) + t = (R R_c)(s x) + (s R t_c + t)); a point map moves point by point.</summary>
    public static DepthFrame Transform(DepthFrame frame, Sim3 sim)
    {
        ArgumentNullException.ThrowIfNull(frame);
        ArgumentNullException.ThrowIfNull(sim);
        var depth = frame.Depth;
        if (sim.Scale != 1)
        {
            depth = new float[frame.Depth.Length];
            for (var i = 0; i < depth.Length; i++) depth[i] = (float)(frame.Depth[i] * sim.Scale);
        }

        var points = frame.WorldPoints;
        if (points is not null)
        {
            points = new float[points.Length];
            for (var i = 0; i < points.Length; i += 3)
            {
                var p = sim.Apply(new V3(frame.WorldPoints![i], frame.WorldPoints[i + 1], frame.WorldPoints[i + 2]));
                (points[i], points[i + 1], points[i + 2]) = ((float)p.X, (float)p.Y, (float)p.Z);
            }
        }

        return new DepthFrame(frame.Width, frame.Height, depth, frame.Confidence, frame.Rgb, frame.Intrinsics, sim.TransformCamera(frame.CameraToWorld),
            points);
    }

    private (List<V3>, List<double>, List<V3>, List<double>) Pairs(List<(int FrameIndex, DepthFrame Frame)> shared)
    {
        List<V3> source = [], target = [];
        List<double> sourceConfidence = [], targetConfidence = [];
        foreach (var (index, current) in shared)
        {
            var previous = _previous[index];
            if (previous.Width != current.Width || previous.Height != current.Height)
                throw new InvalidOperationException($"frame {index} has a different size in consecutive windows");
            for (var v = 0; v < current.Height; v += pixelStride)
            for (var u = 0; u < current.Width; u += pixelStride)
            {
                var i = v * current.Width + u;
                if (!DepthFrame.IsValidDepth(current.Depth[i]) || !DepthFrame.IsValidDepth(previous.Depth[i])) continue;
                source.Add(current.WorldPoint(u, v, i));
                target.Add(previous.WorldPoint(u, v, i));
                sourceConfidence.Add(current.Confidence?[i] ?? 1);
                targetConfidence.Add(previous.Confidence?[i] ?? 1);
            }
        }

        return (source, sourceConfidence, target, targetConfidence);
    }
}
