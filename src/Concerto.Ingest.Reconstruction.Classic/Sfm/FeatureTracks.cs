using OpenCvSharp;

namespace Concerto.Ingest.Reconstruction.Classic.Sfm;

/// <summary>One observation of a track: image index and pixel position.</summary>
public readonly record struct TrackObservation(int Image, double U, double V);

/// <summary>Feature tracks across consecutive images: track id -> observations in image order.</summary>
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

    /// <summary>Corners (GoodFeaturesToTrack) followed by pyramidal Lucas-Kanade flow from each image to the next, kept
    /// only when flowing back lands within the forward-backward threshold; new corners fill the gaps.</summary>
    public static FeatureTracks Build(IReadOnlyList<string> imagePaths, SfmSettings settings, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(imagePaths);
        ArgumentNullException.ThrowIfNull(settings);
        var tracks = new FeatureTracks();
        Mat? previous = null;
        var alive = new List<(int Track, Point2f Point)>();
        try
        {
            for (var i = 0; i < imagePaths.Count; i++)
            {
                cancellationToken.ThrowIfCancellationRequested();
                var gray = Cv2.ImRead(imagePaths[i], ImreadModes.Grayscale);
                if (gray.Empty())
                {
                    gray.Dispose();
                    throw new IOException($"could not read image {imagePaths[i]}: check that it exists and is a PNG or JPEG.");
                }

                if (i == 0) (tracks.Width, tracks.Height) = (gray.Width, gray.Height);
                else if (gray.Width != tracks.Width || gray.Height != tracks.Height)
                {
                    gray.Dispose();
                    throw new ArgumentException($"image {imagePaths[i]} is {gray.Width}x{gray.Height}, the first was {tracks.Width}x{tracks.Height}: all images must share one size.");
                }

                tracks._byImage.Add([]);
                if (previous is not null && alive.Count > 0) alive = tracks.Flow(previous, gray, alive, i, settings);
                tracks.Detect(gray, alive, i, settings);
                previous?.Dispose();
                previous = gray;
            }
        }
        finally
        {
            previous?.Dispose();
        }

        return tracks;
    }

    private List<(int Track, Point2f Point)> Flow(Mat previous, Mat next, List<(int Track, Point2f Point)> alive, int image, SfmSettings settings)
    {
        var from = alive.Select(a => a.Point).ToArray();
        var to = Array.Empty<Point2f>();
        var back = Array.Empty<Point2f>();
        var window = new Size(21, 21);
        Cv2.CalcOpticalFlowPyrLK(previous, next, from, ref to, out var status, out _, window, 3);
        Cv2.CalcOpticalFlowPyrLK(next, previous, to, ref back, out var backStatus, out _, window, 3);
        var kept = new List<(int Track, Point2f Point)>(alive.Count);
        for (var k = 0; k < from.Length; k++)
        {
            if (status[k] == 0 || backStatus[k] == 0) continue;
            var p = to[k];
            if (p.X < 0 || p.Y < 0 || p.X > Width - 1 || p.Y > Height - 1) continue;
            if (Point2f.Distance(back[k], from[k]) > settings.ForwardBackwardThreshold) continue;
            kept.Add((alive[k].Track, p));
        }

        // Drop flow that disagrees with the epipolar geometry of the pair (drifting tracks, repeated texture).
        if (kept.Count >= 15)
        {
            var index = alive.Select((a, k) => (a.Track, k)).ToDictionary(x => x.Track, x => x.k);
            var a = kept.Select(k => from[index[k.Track]]).ToArray();
            var b = kept.Select(k => k.Point).ToArray();
            using var inliers = new Mat();
            using var f = Cv2.FindFundamentalMat(a, b, FundamentalMatMethods.Ransac, settings.RansacThreshold, 0.999, inliers);
            if (!f.Empty() && inliers.Rows == kept.Count)
            {
                var filtered = new List<(int Track, Point2f Point)>(kept.Count);
                for (var k = 0; k < kept.Count; k++)
                    if (inliers.At<byte>(k) != 0) filtered.Add(kept[k]);
                kept = filtered;
            }
        }

        foreach (var (track, p) in kept) Add(track, image, p);
        return kept;
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
            Add(track, image, c);
            alive.Add((track, c));
        }
    }

    private void Add(int track, int image, Point2f p)
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
