using System.Diagnostics.CodeAnalysis;
using Concerto.Ingest.Core.Geometry;
using OpenCvSharp;

namespace Concerto.Ingest.Reconstruction.Classic.Sfm;

/// <summary>Incremental structure from motion over keyframes in time order: KLT tracks, two-view initialisation
/// (essential matrix), PnP registration, triangulation, and bundle adjustment with TorchSharp autograd.</summary>
public sealed class SfmSolver
{
    private sealed record Pose(Mat3 R, V3 T)
    {
        public V3 Centre => -(R.Transpose() * T);
        public V3 ToCamera(V3 world) => R * world + T;
    }

    private readonly SfmSettings _settings;
    private FeatureTracks _tracks = null!;
    private readonly Dictionary<int, Pose> _poses = [];
    private readonly Dictionary<int, int> _trackPoint = [];
    private readonly List<V3> _points = [];
    private double _focal, _cx, _cy;

    private SfmSolver(SfmSettings settings) => _settings = settings;

    /// <summary>Solves for the cameras of <paramref name="imagePaths"/> (one shared pinhole camera, principal point at
    /// the image centre). <paramref name="focalPixels"/> null: the focal length starts from
    /// <see cref="SfmSettings.FallbackFovDegrees"/> and bundle adjustment refines it.</summary>
    public static SfmResult Solve(IReadOnlyList<string> imagePaths, double? focalPixels, SfmSettings settings, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(imagePaths);
        ArgumentNullException.ThrowIfNull(settings);
        settings.Validate();
        if (imagePaths.Count < 2) throw new ArgumentException($"structure from motion needs at least 2 images (got {imagePaths.Count}).", nameof(imagePaths));
        if (focalPixels is <= 0) throw new ArgumentOutOfRangeException(nameof(focalPixels), focalPixels, "the focal length must be positive.");
        return Solve(FeatureTracks.Build(imagePaths, settings, cancellationToken), imagePaths, focalPixels, settings, cancellationToken);
    }

    /// <summary>Solves from tracks already built (e.g. carried through the video frames between the images).</summary>
    public static SfmResult Solve(FeatureTracks tracks, IReadOnlyList<string> imagePaths, double? focalPixels, SfmSettings settings,
        CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(tracks);
        ArgumentNullException.ThrowIfNull(imagePaths);
        ArgumentNullException.ThrowIfNull(settings);
        settings.Validate();
        if (tracks.ImageCount != imagePaths.Count)
            throw new ArgumentException($"the tracks cover {tracks.ImageCount} images, {imagePaths.Count} were given", nameof(tracks));
        if (imagePaths.Count < 2) throw new ArgumentException($"structure from motion needs at least 2 images (got {imagePaths.Count}).", nameof(imagePaths));
        if (focalPixels is <= 0) throw new ArgumentOutOfRangeException(nameof(focalPixels), focalPixels, "the focal length must be positive.");
        return new SfmSolver(settings).Run(tracks, imagePaths, focalPixels, cancellationToken);
    }

    /// <summary>A diagnostic of where camera error comes from: the same tracks, triangulated from cameras given for every
    /// image (e.g. a synthetic capture's true ones) and bundle-adjusted as <see cref="Solve(FeatureTracks, IReadOnlyList{string}, double?, SfmSettings, CancellationToken)"/>
    /// finishes, with no incremental registration. Its error is what the tracks alone allow.</summary>
    internal static SfmResult Refine(FeatureTracks tracks, IReadOnlyList<string> imagePaths, double focalPixels, IReadOnlyList<RigidTransform> cameraToWorld,
        SfmSettings settings, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(tracks);
        ArgumentNullException.ThrowIfNull(imagePaths);
        ArgumentNullException.ThrowIfNull(cameraToWorld);
        ArgumentNullException.ThrowIfNull(settings);
        settings.Validate();
        if (cameraToWorld.Count != tracks.ImageCount || imagePaths.Count != tracks.ImageCount)
            throw new ArgumentException($"{cameraToWorld.Count} cameras and {imagePaths.Count} paths for {tracks.ImageCount} tracked images");
        var solver = new SfmSolver(settings) { _tracks = tracks, _cx = (tracks.Width - 1) / 2.0, _cy = (tracks.Height - 1) / 2.0, _focal = focalPixels };
        for (var i = 0; i < cameraToWorld.Count; i++)
        {
            var toWorld = Mat3.FromArray(cameraToWorld[i].R);
            var r = toWorld.Transpose();
            solver._poses[i] = new Pose(r, -(r * cameraToWorld[i].T));
        }

        for (var track = 0; track < tracks.Count; track++) solver.TryTriangulate(track);
        return solver.Result(imagePaths, solver.FinalBundle(0, 1, false, cancellationToken), false);
    }

    private SfmResult Run(FeatureTracks tracks, IReadOnlyList<string> imagePaths, double? focalPixels, CancellationToken cancellationToken)
    {
        _tracks = tracks;
        _cx = (tracks.Width - 1) / 2.0;
        _cy = (tracks.Height - 1) / 2.0;
        _focal = focalPixels ?? PinholeIntrinsics.FromHorizontalFov(tracks.Width, tracks.Height, _settings.FallbackFovDegrees).Fx;
        var estimateFocal = focalPixels is null;
        var n = imagePaths.Count;

        if (!TryInitialise(out var first, out var second))
            return Failed(imagePaths.Count);
        var failed = new HashSet<int>();
        Bundle(first, second, _settings.BundleIterations / 2, estimateFocal, cancellationToken);

        var sinceBundle = 0;
        while (true)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var (best, count) = (-1, 0);
            for (var i = 0; i < n; i++)
            {
                if (_poses.ContainsKey(i) || failed.Contains(i)) continue;
                var c = tracks.InImage(i).Count(_trackPoint.ContainsKey);
                if (c > count) (best, count) = (i, c);
            }

            if (best < 0 || count < _settings.MinPnPCorrespondences) break;
            if (!TryRegister(best)) { failed.Add(best); continue; }
            TriangulateImage(best);
            failed.Clear();   // new points may let an image that failed register now
            if (++sinceBundle >= _settings.BundleEvery)
            {
                Bundle(first, second, _settings.BundleIterations / 2, estimateFocal, cancellationToken);
                sinceBundle = 0;
            }
        }

        return Result(imagePaths, FinalBundle(first, second, estimateFocal, cancellationToken), estimateFocal);
    }

    /// <summary>A full adjustment, then points that stay far off dropped and the rest settled on only the observations
    /// within <see cref="SfmSettings.MaxReprojectionError"/>: while the model grows, observations up to 4x that take part
    /// (new cameras are still rough), but at the end those few pixels off (e.g. a track that slid along an occluding
    /// edge) would pull the cameras (seeds 1-4 of `bench recon`: 23.0 / 33.9 / 24.5 / 44.2 mm camera RMS with them,
    /// 16.9 / 25.9 / 26.2 / 37.7 without). Returns the reprojection RMS.</summary>
    private double FinalBundle(int first, int second, bool estimateFocal, CancellationToken cancellationToken)
    {
        Bundle(first, second, _settings.BundleIterations, estimateFocal, cancellationToken);
        RemoveOutliers();
        return Bundle(first, second, _settings.BundleIterations / 2, estimateFocal, cancellationToken, strict: true);
    }

    private SfmResult Failed(int images) => new(
        new PinholeIntrinsics(_tracks.Width, _tracks.Height, _focal, _focal, _cx, _cy), [], [], Enumerable.Range(0, images).ToList(), double.NaN, false);

    private double[,] CameraMatrix() => new[,] { { _focal, 0, _cx }, { 0, _focal, _cy }, { 0, 0, 1 } };

    private List<(int Track, TrackObservation A, TrackObservation B)> Common(int a, int b)
    {
        var common = new List<(int, TrackObservation, TrackObservation)>();
        foreach (var track in _tracks.InImage(a))
            if (_tracks.TryGet(track, a, out var oa) && _tracks.TryGet(track, b, out var ob)) common.Add((track, oa, ob));
        return common;
    }

    /// <summary>The initial pair: among pairs of early images sharing enough tracks with enough image motion, the one that
    /// triangulates the most points with a median ray angle of at least <see cref="SfmSettings.MinInitialAngle"/> (a wide
    /// baseline fixes depth, and so the scale, well); failing that, the pair with the widest median angle.</summary>
    private bool TryInitialise(out int first, out int second)
    {
        (first, second) = (0, -1);
        var (bestPoints, bestAngle) = (0, 0.0);
        var firsts = Math.Min(_tracks.ImageCount - 1, _settings.InitialSearchFrames);
        for (var a = 0; a < firsts; a++)
        {
            var limit = Math.Min(_tracks.ImageCount - 1, a + _settings.InitialSearchFrames);
            for (var b = a + 1; b <= limit; b++)
            {
                var common = Common(a, b);
                if (common.Count < 50) break;
                var displacement = common.Select(c => Math.Sqrt((c.A.U - c.B.U) * (c.A.U - c.B.U) + (c.A.V - c.B.V) * (c.A.V - c.B.V)))
                    .OrderBy(d => d).ToList();
                if (displacement[displacement.Count / 2] < _settings.MinInitialParallax * _tracks.Width) continue;
                var (points, angle) = TryTwoView(a, b) ? (_points.Count, MedianRayAngle(a, b)) : (0, 0.0);
                Reset();
                var wide = angle >= _settings.MinInitialAngle;
                var bestWide = bestAngle >= _settings.MinInitialAngle;
                if (points > 0 && (wide && (!bestWide || points > bestPoints) || !wide && !bestWide && angle > bestAngle))
                    (bestPoints, bestAngle, first, second) = (points, angle, a, b);
            }

            // An early pair that already triangulates well is enough; later firsts only help when the start is poor.
            if (bestAngle >= _settings.MinInitialAngle && bestPoints >= 200) break;
        }

        return second >= 0 && TryTwoView(first, second);
    }

    /// <summary>Median angle (degrees) between the rays from the two cameras to the points triangulated so far.</summary>
    private double MedianRayAngle(int a, int b)
    {
        var (ca, cb) = (_poses[a].Centre, _poses[b].Centre);
        var angles = _points.Select(p => Math.Acos(Math.Clamp((p - ca).Normalized.Dot((p - cb).Normalized), -1, 1)) * 180 / Math.PI).Order().ToList();
        return angles.Count == 0 ? 0 : angles[angles.Count / 2];
    }

    private void Reset()
    {
        _poses.Clear();
        _trackPoint.Clear();
        _points.Clear();
    }

    /// <summary>OpenCV throws on degenerate input (too few distinct points); for structure from motion that is a failed
    /// attempt, not an error.</summary>
    private bool TryTwoView(int a, int b)
    {
        try
        {
            return TwoView(a, b);
        }
        catch (OpenCVException)
        {
            Reset();
            return false;
        }
    }

    private bool TryRegister(int image)
    {
        try
        {
            return Register(image);
        }
        catch (OpenCVException)
        {
            return false;
        }
    }

    private bool TwoView(int a, int b)
    {
        var common = Common(a, b);
        using var pa = Mat.FromArray(common.Select(c => new Point2d(c.A.U, c.A.V)).ToArray());
        using var pb = Mat.FromArray(common.Select(c => new Point2d(c.B.U, c.B.V)).ToArray());
        using var mask = new Mat();
        using var e = Cv2.FindEssentialMat(pa, pb, _focal, new Point2d(_cx, _cy), EssentialMatMethod.Ransac, 0.999, _settings.RansacThreshold, mask);
        if (e.Empty() || e.Rows != 3) return false;
        using var r = new Mat();
        using var t = new Mat();
        var inliers = Cv2.RecoverPose(e, pa, pb, r, t, _focal, new Point2d(_cx, _cy), mask);
        if (inliers < 30) return false;
        var rotation = new Mat3(r.At<double>(0, 0), r.At<double>(0, 1), r.At<double>(0, 2), r.At<double>(1, 0), r.At<double>(1, 1),
            r.At<double>(1, 2), r.At<double>(2, 0), r.At<double>(2, 1), r.At<double>(2, 2));
        var translation = new V3(t.At<double>(0), t.At<double>(1), t.At<double>(2)).Normalized;
        _poses[a] = new Pose(Mat3.Identity, V3.Zero);
        _poses[b] = new Pose(rotation, translation);
        for (var k = 0; k < common.Count; k++)
            if (mask.At<byte>(k) != 0) TryTriangulate(common[k].Track);
        if (_points.Count >= 30) return true;
        Reset();
        return false;
    }

    private bool Register(int image)
    {
        var tracks = _tracks.InImage(image).Where(_trackPoint.ContainsKey).ToList();
        var objects = new List<Point3f>(tracks.Count);
        var pixels = new List<Point2f>(tracks.Count);
        foreach (var track in tracks)
        {
            _tracks.TryGet(track, image, out var o);
            var p = _points[_trackPoint[track]];
            objects.Add(new Point3f((float)p.X, (float)p.Y, (float)p.Z));
            pixels.Add(new Point2f((float)o.U, (float)o.V));
        }

        using var objectMat = Mat.FromArray(objects.ToArray());
        using var pixelMat = Mat.FromArray(pixels.ToArray());
        using var k = Mat.FromArray(CameraMatrix());
        using var distortion = new Mat();
        using var rvecMat = new Mat();
        using var tvecMat = new Mat();
        using var inlierMat = new Mat();
        Cv2.SolvePnPRansac(objectMat, pixelMat, k, distortion, rvecMat, tvecMat, false, 200, (float)(2 * _settings.RansacThreshold), 0.999,
            inlierMat, SolvePnPMethod.EPNP);
        if (rvecMat.Empty() || tvecMat.Empty() || inlierMat.Rows < _settings.MinPnPCorrespondences) return false;
        var rvec = new[] { rvecMat.At<double>(0), rvecMat.At<double>(1), rvecMat.At<double>(2) };
        var tvec = new[] { tvecMat.At<double>(0), tvecMat.At<double>(1), tvecMat.At<double>(2) };
        _poses[image] = new Pose(FromRodrigues(rvec), new V3(tvec[0], tvec[1], tvec[2]));
        return true;
    }

    private static Mat3 FromRodrigues(double[] rvec)
    {
        Cv2.Rodrigues(rvec, out var m, out _);
        return new Mat3(m[0, 0], m[0, 1], m[0, 2], m[1, 0], m[1, 1], m[1, 2], m[2, 0], m[2, 1], m[2, 2]);
    }

    private static double[] ToRodrigues(Mat3 r)
    {
        var m = new[,] { { r.M00, r.M01, r.M02 }, { r.M10, r.M11, r.M12 }, { r.M20, r.M21, r.M22 } };
        Cv2.Rodrigues(m, out var v, out _);
        return v;
    }

    private void TriangulateImage(int image)
    {
        foreach (var track in _tracks.InImage(image))
            if (!_trackPoint.ContainsKey(track)) TryTriangulate(track);
    }

    private double Reprojection(Pose pose, V3 point, TrackObservation o)
    {
        var c = pose.ToCamera(point);
        if (c.Z <= 1e-9) return double.PositiveInfinity;
        var du = _focal * c.X / c.Z + _cx - o.U;
        var dv = _focal * c.Y / c.Z + _cy - o.V;
        return Math.Sqrt(du * du + dv * dv);
    }

    private V3 RayWorld(Pose pose, TrackObservation o) =>
        (pose.R.Transpose() * new V3((o.U - _cx) / _focal, (o.V - _cy) / _focal, 1)).Normalized;

    /// <summary>Midpoint triangulation from the two registered observations with the widest ray angle.</summary>
    private bool TryTriangulate(int track)
    {
        var observed = _tracks[track].Where(o => _poses.ContainsKey(o.Image)).ToList();
        if (observed.Count < 2) return false;
        var a = observed[0];
        var pa = _poses[a.Image];
        var ra = RayWorld(pa, a);
        var (bestCos, b) = (1.0, default(TrackObservation));
        foreach (var o in observed.Skip(1))
        {
            var cos = ra.Dot(RayWorld(_poses[o.Image], o));
            if (cos < bestCos) (bestCos, b) = (cos, o);
        }

        if (bestCos > Math.Cos(_settings.MinTriangulationAngle * Math.PI / 180)) return false;
        var pb = _poses[b.Image];
        if (!TryMidpoint(pa.Centre, ra, pb.Centre, RayWorld(pb, b), out var point)) return false;
        if (Reprojection(pa, point, a) > _settings.MaxReprojectionError || Reprojection(pb, point, b) > _settings.MaxReprojectionError) return false;
        _trackPoint[track] = _points.Count;
        _points.Add(point);
        return true;
    }

    private static bool TryMidpoint(V3 c1, V3 d1, V3 c2, V3 d2, out V3 point)
    {
        // Closest points c1 + s d1 and c2 + u d2 (unit directions).
        var w = c1 - c2;
        var b = d1.Dot(d2);
        var denominator = 1 - b * b;
        point = V3.Zero;
        if (denominator < 1e-12) return false;
        var d = d1.Dot(w);
        var e = d2.Dot(w);
        var s = (b * e - d) / denominator;
        var u = (e - b * d) / denominator;
        if (s <= 0 || u <= 0) return false;
        point = (c1 + d1 * s + c2 + d2 * u) / 2;
        return true;
    }

    private void RemoveOutliers()
    {
        foreach (var (track, index) in _trackPoint.ToList())
        {
            var errors = _tracks[track].Where(o => _poses.ContainsKey(o.Image)).Select(o => Reprojection(_poses[o.Image], _points[index], o)).ToList();
            if (errors.Count(e => e <= _settings.MaxReprojectionError) < 2) _trackPoint.Remove(track);
        }
    }

    [SuppressMessage("Style", "IDE0045", Justification = "readability")]
    /// <param name="strict">Only observations within <see cref="SfmSettings.MaxReprojectionError"/> take part (else 4x that).</param>
    private double Bundle(int first, int second, int iterations, bool estimateFocal, CancellationToken cancellationToken, bool strict = false)
    {
        var images = _poses.Keys.Order().ToList();
        var cameraOf = images.Select((image, k) => (image, k)).ToDictionary(x => x.image, x => x.k);
        var tracks = _trackPoint.Keys.Order().ToList();
        var observations = new List<BundleObservation>();
        var limit = (strict ? 1 : 4) * _settings.MaxReprojectionError;
        for (var p = 0; p < tracks.Count; p++)
        {
            var point = _points[_trackPoint[tracks[p]]];
            foreach (var o in _tracks[tracks[p]])
                if (_poses.TryGetValue(o.Image, out var pose) && Reprojection(pose, point, o) <= limit)
                    observations.Add(new BundleObservation(cameraOf[o.Image], p, o.U, o.V));
        }

        var problem = new BundleProblem
        {
            Rotations = images.Select(i => ToRodrigues(_poses[i].R)).ToArray(),
            Translations = images.Select(i => new[] { _poses[i].T.X, _poses[i].T.Y, _poses[i].T.Z }).ToArray(),
            Points = tracks.Select(t => _points[_trackPoint[t]]).Select(p => new[] { p.X, p.Y, p.Z }).ToArray(),
            Observations = observations,
            Focal = _focal,
            Cx = _cx,
            Cy = _cy,
            FixedCamera = cameraOf[first],
            ScaleCamera = cameraOf[second],
            ScaleDistance = (_poses[second].Centre - _poses[first].Centre).Length,
        };
        var report = BundleAdjuster.Adjust(problem, iterations, _settings.HuberPixels, estimateFocal, cancellationToken);
        for (var k = 0; k < images.Count; k++)
            _poses[images[k]] = new Pose(FromRodrigues(problem.Rotations[k]), new V3(problem.Translations[k][0], problem.Translations[k][1], problem.Translations[k][2]));
        for (var p = 0; p < tracks.Count; p++)
            _points[_trackPoint[tracks[p]]] = new V3(problem.Points[p][0], problem.Points[p][1], problem.Points[p][2]);
        _focal = problem.Focal;
        return report.FinalRms;
    }

    private SfmResult Result(IReadOnlyList<string> imagePaths, double rms, bool estimated)
    {
        var perImage = new int[imagePaths.Count];
        var points = new List<SfmPoint>();
        foreach (var (track, index) in _trackPoint)
        {
            var seen = 0;
            foreach (var o in _tracks[track])
                if (_poses.TryGetValue(o.Image, out var pose) && Reprojection(pose, _points[index], o) <= _settings.MaxReprojectionError)
                {
                    perImage[o.Image]++;
                    seen++;
                }

            if (seen >= 2) points.Add(new SfmPoint(_points[index], seen));
        }

        var cameras = _poses.OrderBy(p => p.Key).Select(p =>
        {
            var rt = p.Value.R.Transpose();
            return new SfmCamera(p.Key, imagePaths[p.Key], new RigidTransform(rt.ToArray(), p.Value.Centre), perImage[p.Key]);
        }).ToList();
        var unregistered = Enumerable.Range(0, imagePaths.Count).Where(i => !_poses.ContainsKey(i)).ToList();
        return new SfmResult(new PinholeIntrinsics(_tracks.Width, _tracks.Height, _focal, _focal, _cx, _cy), cameras, points, unregistered, rms, estimated);
    }
}
