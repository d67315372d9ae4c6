using System.Diagnostics;
using System.Runtime.CompilerServices;
using Concerto.Ingest.Core.Geometry;
using Concerto.Ingest.Reconstruction.Classic.Sfm;
using Concerto.Ingest.Reconstruction.Fusion;
using Concerto.Ingest.Reconstruction.Pipeline;
using Concerto.Ingest.Reconstruction.Vggt;
using Microsoft.Extensions.Logging;

namespace Concerto.Ingest.Reconstruction.Classic.Stereo;

/// <summary>Depth for keyframes whose cameras are known (from our structure from motion or COLMAP's): for each registered
/// keyframe a plane sweep (or PatchMatch, when the settings ask for it) against its neighbours (depth range from the
/// sparse points it sees), then a geometric consistency check against the neighbours' depth maps. Frames stream out in
/// keyframe order as soon as their neighbours' depth is known, so only a sliding window of images and depth maps is
/// held.</summary>
public sealed partial class KeyframeStereo(ClassicSettings settings, ILogger logger)
{
    private readonly Stopwatch _clock = new();

    /// <summary>Seconds spent so far.</summary>
    public double Seconds => _clock.Elapsed.TotalSeconds;

    /// <summary>Keyframes so far that had no neighbour to sweep against (their depth is empty).</summary>
    public int WithoutNeighbours { get; private set; }

    /// <summary>Streams each registered keyframe's view and depth. <paramref name="world"/>'s cameras name keyframes by
    /// <see cref="SfmCamera.ImageIndex"/> (their index in <paramref name="keyframes"/>), in keyframe order, in a world of
    /// unit median depth (<see cref="ToUnitMedianDepth"/>).</summary>
    public async IAsyncEnumerable<(ReconstructedView View, DepthFrame Frame)> StreamAsync(IReadOnlyList<KeyframeRef> keyframes, SfmResult world,
        PinholeIntrinsics intrinsics, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(keyframes);
        ArgumentNullException.ThrowIfNull(world);
        var cameras = world.Cameras;
        var poses = cameras.Select(c => c.CameraToWorld).ToList();
        var neighbours = Enumerable.Range(0, cameras.Count).Select(i => StereoPlanning.SelectNeighbours(poses, i, settings.Neighbours)).ToList();
        // The last frame (in computation order) that needs frame j's image or raw depth; both are dropped after it.
        var lastUse = Enumerable.Range(0, cameras.Count).ToArray();
        for (var i = 0; i < cameras.Count; i++)
            foreach (var j in neighbours[i]) lastUse[j] = Math.Max(lastUse[j], i);
        var ready = neighbours.Select((n, i) => n.Count == 0 ? i : Math.Max(i, n.Max())).ToArray();

        var sparse = world.Points.Select(p => p.Position).ToList();
        var views = new Dictionary<int, StereoView>();
        var raw = new Dictionary<int, DepthFrame>();
        StereoView View(int i)
        {
            if (views.TryGetValue(i, out var view)) return view;
            var image = RgbFrame.Read(cameras[i].ImagePath);
            return views[i] = new StereoView(image.Width, image.Height, image.Rgb, intrinsics, poses[i]);
        }

        var next = 0;
        for (var computed = 0; computed < cameras.Count; computed++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            _clock.Start();
            var c = computed;
            raw[c] = await Task.Run(() => Sweep(View(c), neighbours[c].Select(View).ToList(), sparse, cancellationToken), cancellationToken).ConfigureAwait(false);
            _clock.Stop();
            if (neighbours[c].Count == 0) WithoutNeighbours++;
            foreach (var j in views.Keys.Where(j => lastUse[j] <= c).ToList()) views.Remove(j);

            for (; next < cameras.Count && ready[next] <= computed; next++)
            {
                _clock.Start();
                var e = next;
                var frame = await Task.Run(() => GeometricConsistency.Check(raw[e], neighbours[e].Select(j => raw[j]).ToList(), settings.Consistency),
                    cancellationToken).ConfigureAwait(false);
                _clock.Stop();
                foreach (var j in raw.Keys.Where(j => lastUse[j] <= e && j <= e).ToList()) raw.Remove(j);
                var keyframe = keyframes[cameras[e].ImageIndex];
                yield return (new ReconstructedView(keyframe.FrameIndex, keyframe.Time, poses[e], intrinsics), frame);
            }
        }

        LogStereo(logger, cameras.Count, Seconds, Seconds / Math.Max(1, cameras.Count), WithoutNeighbours);
    }

    /// <summary>The world scaled so the sparse points' median depth over the cameras is 1 (VGGT's convention, so a
    /// profile's voxel size and the neighbour baselines mean about the same whoever solved the cameras).</summary>
    public static SfmResult ToUnitMedianDepth(SfmResult sfm)
    {
        ArgumentNullException.ThrowIfNull(sfm);
        var depths = new List<double>();
        var step = Math.Max(1, sfm.Points.Count / 2000);
        foreach (var camera in sfm.Cameras)
        {
            var toCamera = camera.CameraToWorld.Inverse();
            for (var p = 0; p < sfm.Points.Count; p += step)
            {
                var z = toCamera.Apply(sfm.Points[p].Position).Z;
                if (z > 0) depths.Add(z);
            }
        }

        if (depths.Count == 0) return sfm;
        depths.Sort();
        var scale = 1 / depths[depths.Count / 2];
        return sfm with
        {
            Cameras = sfm.Cameras.Select(c => c with { CameraToWorld = c.CameraToWorld with { T = c.CameraToWorld.T * scale } }).ToList(),
            Points = sfm.Points.Select(p => p with { Position = p.Position * scale }).ToList(),
        };
    }

    private DepthFrame Sweep(StereoView reference, IReadOnlyList<StereoView> neighbours, IReadOnlyList<V3> points, CancellationToken cancellationToken)
    {
        if (neighbours.Count == 0)
        {
            // No usable baseline: the camera is kept, its depth left empty.
            var (w, h) = PlaneSweepStereo.WorkingSize(reference.Width, reference.Height, settings.PatchMatch?.MaxSide ?? settings.Stereo.MaxSide);
            return new DepthFrame(w, h, new float[w * h], new float[w * h], new byte[3 * w * h], reference.Intrinsics.ScaledTo(w, h), reference.CameraToWorld);
        }

        // Unit median depth (see ToUnitMedianDepth) makes a wide fixed fallback safe.
        var range = StereoPlanning.DepthRange(reference.Intrinsics, reference.CameraToWorld, points, (0.1f, 10f));
        return settings.PatchMatch is { } patchMatch
            ? PatchMatchStereo.Estimate(reference, neighbours, range, patchMatch, cancellationToken)
            : PlaneSweepStereo.Estimate(reference, neighbours, range, settings.Stereo, cancellationToken);
    }

    [LoggerMessage(EventId = 2302, Level = LogLevel.Information,
        Message = "Multi-view stereo on {Frames} keyframes in {Seconds:0.0} s ({PerFrame:0.00} s per keyframe); {Lonely} without a neighbour")]
    private static partial void LogStereo(ILogger logger, int frames, double seconds, double perFrame, int lonely);
}
