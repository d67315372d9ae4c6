using OpenCvSharp;

namespace Concerto.Ingest.Reconstruction.Classic.Sfm;

/// <summary>One observation of a track: image index and pixel position.</summary>
public readonly record struct TrackObservation(int Image, double U, double V);

/// <summary>Feature tracks across images (keyframes): track id -> observations in image order.</summary>
public sealed class FeatureTracks
{
    private readonly List<List<TrackObservation>> _tracks = [];
    private readonly List<List<int>> _byImage = [];

    public int Width { get; private set; }
    public int Height { get; private set; }
    public int ImageCount => _byImage.Count;
    public int Count => _tracks.Count;
    public IReadOnlyList<TrackObservation> this[int track] => _tracks[track];

    /// <summary>Track ids seen in an image.</summary>
    public IReadOnlyList<int> InImage(int image) => _byImage[image];

    private readonly SfmSettings _settings;
    private Mat? _previous;
    private List<(int Track, Point2f Point)> _alive = [];
    // Each track's first image and where it was found there; the images that still anchor a live track.
    private readonly List<(int Image, Point2f Point)> _anchor = [];
    private readonly Dictionary<int, Mat> _anchorImages = [];

    /// <summary>An empty tracker: feed it frames in time order with <see cref="Add"/>.</summary>
    public FeatureTracks(SfmSettings settings)
    {
        ArgumentNullException.ThrowIfNull(settings);
        _settings = settings;
    }

    /// <summary>Tracks over keyframe images alone (each flowed from the one before).</summary>
    public static FeatureTracks Build(IReadOnlyList<string> imagePaths, SfmSettings settings, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(imagePaths);
        var tracks = new FeatureTracks(settings);
        try
        {
            for (var i = 0; i < imagePaths.Count; i++)
            {
                cancellationToken.ThrowIfCancellationRequested();
                using var gray = Cv2.ImRead(imagePaths[i], ImreadModes.Grayscale);
                if (gray.Empty()) throw new IOException($"could not read image {imagePaths[i]}: check that it exists and is a PNG or JPEG.");
                tracks.Add(gray, isImage: true, imagePaths[i]);
            }
        }
        finally
        {
            tracks.Finish();
        }

        return tracks;
    }

    /// <summary>Takes the next frame of the sequence: corners are followed into it by pyramidal Lucas-Kanade flow from
    /// the frame before, kept only when flowing back lands within the forward-backward threshold and the pair's epipolar
    /// geometry agrees. An image (<paramref name="isImage"/>: a keyframe, numbered in the order added) records the
    /// tracks' positions and gets new corners where tracks are missing; frames in between only carry the tracks across
    /// (video frames between keyframes, so fast motion stays trackable). <paramref name="gray"/> is copied.</summary>
    public void Add(Mat gray, bool isImage, string name)
    {
        ArgumentNullException.ThrowIfNull(gray);
        if (_previous is null && _byImage.Count == 0) (Width, Height) = (gray.Width, gray.Height);
        else if (gray.Width != Width || gray.Height != Height)
            throw new ArgumentException($"{name} is {gray.Width}x{gray.Height}, the first frame was {Width}x{Height}: all frames must share one size.");
        if (_previous is null && !isImage) return;   // nothing to carry yet: tracks start at an image

        if (isImage) _byImage.Add([]);
        if (_previous is not null && _alive.Count > 0)
        {
            _alive = Flow(_previous, gray, _alive, _settings);
            if (isImage && _settings.AnchoredRefinement) _alive = RefineFromAnchors(gray, _alive);
            if (isImage)
                foreach (var (track, p) in _alive) Record(track, _byImage.Count - 1, p);
        }

        if (isImage)
        {
            Detect(gray, _alive, _byImage.Count - 1, _settings);
            if (_settings.AnchoredRefinement) KeepAnchors(gray);
        }

        _previous?.Dispose();
        _previous = gray.Clone();
    }

    /// <summary>Flow from frame to frame drifts: each step's small error adds up along a track (measured on a rendered
    /// walk: median 0.3 px after one image, 1.2 px after ten). So at each image every track is aligned again from its
    /// first image's appearance (Lucas-Kanade from the anchor, starting at the chained position), and the anchored
    /// position replaces the chained one when the two agree within <see cref="SfmSettings.AnchorAgreement"/> pixels (a
    /// view that has changed too much to match from the anchor keeps the chained position).</summary>
    private List<(int Track, Point2f Point)> RefineFromAnchors(Mat gray, List<(int Track, Point2f Point)> alive)
    {
        var refined = alive.ToArray();
        foreach (var group in alive.Select((a, k) => (a.Track, a.Point, k)).GroupBy(a => _anchor[a.Track].Image))
        {
            if (!_anchorImages.TryGetValue(group.Key, out var anchorImage)) continue;
            var members = group.ToList();
            var from = members.Select(m => _anchor[m.Track].Point).ToArray();
            var to = members.Select(m => m.Point).ToArray();
            Cv2.CalcOpticalFlowPyrLK(anchorImage, gray, from, ref to, out var status, out _, new Size(21, 21), 2,
                new TermCriteria(CriteriaTypes.Count | CriteriaTypes.Eps, 30, 0.01), OpticalFlowFlags.UseInitialFlow);
            for (var m = 0; m < members.Count; m++)
                if (status[m] != 0 && Point2f.Distance(to[m], members[m].Point) <= _settings.AnchorAgreement)
                    refined[members[m].k] = (members[m].Track, to[m]);
        }

        return [.. refined];
    }

    /// <summary>Keeps this image when new tracks start in it, and lets go of anchor images no live track needs.</summary>
    private void KeepAnchors(Mat gray)
    {
        var image = _byImage.Count - 1;
        if (_alive.Any(a => _anchor[a.Track].Image == image)) _anchorImages[image] = gray.Clone();
        var needed = _alive.Select(a => _anchor[a.Track].Image).ToHashSet();
        foreach (var stale in _anchorImages.Keys.Where(i => !needed.Contains(i)).ToList())
        {
            _anchorImages[stale].Dispose();
            _anchorImages.Remove(stale);
        }
    }

    /// <summary>Frees the last frame (no more frames will come).</summary>
    public void Finish()
    {
        foreach (var anchor in _anchorImages.Values) anchor.Dispose();
        _anchorImages.Clear();
        _previous?.Dispose();
        _previous = null;
        _alive = [];
    }

    private List<(int Track, Point2f Point)> Flow(Mat previous, Mat next, List<(int Track, Point2f Point)> alive, SfmSettings settings)
    {
        var from = alive.Select(a => a.Point).ToArray();
        var to = Array.Empty<Point2f>();
        var back = Array.Empty<Point2f>();
        var window = new Size(31, 31);
        Cv2.CalcOpticalFlowPyrLK(previous, next, from, ref to, out var status, out _, window, 5);
        Cv2.CalcOpticalFlowPyrLK(next, previous, to, ref back, out var backStatus, out _, window, 5);
        var kept = new List<(int Track, Point2f Point)>(alive.Count);
        for (var k = 0; k < from.Length; k++)
        {
            if (status[k] == 0 || backStatus[k] == 0) continue;
            var p = to[k];
            if (p.X < 0 || p.Y < 0 || p.X > Width - 1 || p.Y > Height - 1) continue;
            if (Point2f.Distance(back[k], from[k]) > settings.ForwardBackwardThreshold) continue;
            kept.Add((alive[k].Track, p));
        }

        // Drop flow that disagrees with the epipolar geometry of the pair (drifting tracks, repeated texture). A pair
        // with (almost) no motion, such as a repeated frame, has no epipolar geometry to check against.
        var index = alive.Select((a, k) => (a.Track, k)).ToDictionary(x => x.Track, x => x.k);
        var a = kept.Select(k => from[index[k.Track]]).ToArray();
        var b = kept.Select(k => k.Point).ToArray();
        var moving = a.Zip(b).Count(p => Point2f.Distance(p.First, p.Second) > 0.5f);
        if (kept.Count >= 15 && moving >= 15)
        {
            using var inliers = new Mat();
            using var f = FundamentalOrEmpty(a, b, settings.RansacThreshold, inliers);
            if (!f.Empty() && inliers.Rows == kept.Count)
            {
                var filtered = new List<(int Track, Point2f Point)>(kept.Count);
                for (var k = 0; k < kept.Count; k++)
                    if (inliers.At<byte>(k) != 0) filtered.Add(kept[k]);
                kept = filtered;
            }
        }

        return kept;
    }

    /// <summary>OpenCV throws on degenerate point sets (all collinear, repeated); that is no geometry, not an error.</summary>
    private static Mat FundamentalOrEmpty(Point2f[] a, Point2f[] b, double threshold, Mat inliers)
    {
        try
        {
            return Cv2.FindFundamentalMat(a, b, FundamentalMatMethods.Ransac, threshold, 0.999, inliers);
        }
        catch (OpenCVException)
        {
            return new Mat();
        }
    }

    private void Detect(Mat gray, List<(int Track, Point2f Point)> alive, int image, SfmSettings settings)
    {
        var wanted = settings.MaxFeatures - alive.Count;
        if (wanted < settings.MaxFeatures / 10) return;
        using var mask = new Mat(gray.Size(), MatType.CV_8UC1, Scalar.All(255));
        foreach (var (_, p) in alive) Cv2.Circle(mask, new Point((int)Math.Round(p.X), (int)Math.Round(p.Y)), (int)settings.MinFeatureDistance, Scalar.All(0), -1);
        var corners = Cv2.GoodFeaturesToTrack(gray, wanted, 0.005, settings.MinFeatureDistance, mask, 5, false, 0.04);
        foreach (var c in corners)
        {
            var track = _tracks.Count;
            _tracks.Add([]);
            _anchor.Add((image, c));
            Record(track, image, c);
            alive.Add((track, c));
        }
    }

    /// <summary>Adds a track made elsewhere (e.g. descriptor matches between distant images): one observation per image,
    /// in image order. Returns its id.</summary>
    public int AddTrack(IReadOnlyList<TrackObservation> observations)
    {
        ArgumentNullException.ThrowIfNull(observations);
        var track = _tracks.Count;
        _tracks.Add([]);
        _anchor.Add((observations.Min(o => o.Image), default));
        foreach (var o in observations.OrderBy(o => o.Image))
        {
            if (o.Image < 0 || o.Image >= _byImage.Count) throw new ArgumentOutOfRangeException(nameof(observations), o.Image, "no such image");
            Record(track, o.Image, new Point2f((float)o.U, (float)o.V));
        }

        return track;
    }

    private void Record(int track, int image, Point2f p)
    {
        _tracks[track].Add(new TrackObservation(image, p.X, p.Y));
        _byImage[image].Add(track);
    }

    /// <summary>The observation of a track in an image, if any.</summary>
    public bool TryGet(int track, int image, out TrackObservation observation)
    {
        foreach (var o in _tracks[track])
            if (o.Image == image) { observation = o; return true; }
        observation = default;
        return false;
    }
}
