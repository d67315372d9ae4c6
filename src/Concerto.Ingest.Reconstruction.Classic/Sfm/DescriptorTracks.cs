using System.Runtime.InteropServices;
using OpenCvSharp;
using OpenCvSharp.Features2D;

namespace Concerto.Ingest.Reconstruction.Classic.Sfm;

/// <summary>Settings of the descriptor tracks that join distant keyframes.</summary>
/// <param name="MaxFeatures">SIFT features per image (0: all).</param>
/// <param name="Ratio">Lowe's ratio test: a match is kept when its distance is below this share of the second best's.</param>
/// <param name="MaxImageGap">Pairs of images at most this many images apart are matched (all pairs of a short video).</param>
/// <param name="MinPairMatches">A pair keeps its matches only when this many agree with one fundamental matrix.</param>
public sealed record DescriptorMatchSettings(int MaxFeatures = 2000, double Ratio = 0.8, int MaxImageGap = 24, int MinPairMatches = 30)
{
    public static DescriptorMatchSettings Default { get; } = new();
}

/// <summary>Optical-flow tracks only join images the flow passes through in order, so every error along the way adds up
/// (drift). SIFT features matched between every pair of keyframes within <see cref="DescriptorMatchSettings.MaxImageGap"/>
/// (ratio test both ways, then a RANSAC fundamental matrix per pair) and chained across pairs (union-find) give tracks
/// that tie distant keyframes to each other directly, as COLMAP's exhaustive matching does. A chain that would put two
/// different features of one image on the same track is inconsistent and dropped.</summary>
public static class DescriptorTracks
{
    /// <summary>Adds the matched tracks to <paramref name="tracks"/>; returns how many.</summary>
    /// <param name="images">Image index in <paramref name="tracks"/> and the image file, in image order.</param>
    public static int AddTo(FeatureTracks tracks, IReadOnlyList<(int Image, string Path)> images, DescriptorMatchSettings settings, double ransacThreshold,
        CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(tracks);
        ArgumentNullException.ThrowIfNull(images);
        ArgumentNullException.ThrowIfNull(settings);
        var keypoints = new KeyPoint[images.Count][];
        var descriptors = new Mat[images.Count];
        try
        {
            using (var sift = SIFT.Create(settings.MaxFeatures))
            {
                for (var i = 0; i < images.Count; i++)
                {
                    cancellationToken.ThrowIfCancellationRequested();
                    using var gray = Cv2.ImRead(images[i].Path, ImreadModes.Grayscale);
                    if (gray.Empty()) throw new IOException($"could not read image {images[i].Path}: check that it exists and is a PNG or JPEG.");
                    descriptors[i] = new Mat();
                    sift.DetectAndCompute(gray, null, out keypoints[i], descriptors[i]);
                    RootSift(descriptors[i]);
                }
            }

            var offsets = new int[images.Count + 1];
            for (var i = 0; i < images.Count; i++) offsets[i + 1] = offsets[i] + keypoints[i].Length;
            var parent = Enumerable.Range(0, offsets[^1]).ToArray();
            int Find(int x)
            {
                while (parent[x] != x) x = parent[x] = parent[parent[x]];
                return x;
            }

            var pairs = new List<(int A, int B)>();
            for (var a = 0; a < images.Count; a++)
            for (var b = a + 1; b < images.Count && b - a <= settings.MaxImageGap; b++)
                pairs.Add((a, b));
            var matches = new List<(int A, int B)>[pairs.Count];
            Parallel.For(0, pairs.Count, new ParallelOptions { CancellationToken = cancellationToken }, p =>
                matches[p] = MatchPair(keypoints[pairs[p].A], descriptors[pairs[p].A], keypoints[pairs[p].B], descriptors[pairs[p].B], settings, ransacThreshold));
            for (var p = 0; p < pairs.Count; p++)
                foreach (var (ka, kb) in matches[p])
                {
                    int ra = Find(offsets[pairs[p].A] + ka), rb = Find(offsets[pairs[p].B] + kb);
                    if (ra != rb) parent[ra] = rb;
                }

            var components = new Dictionary<int, List<(int Image, int Keypoint)>>();
            var matched = matches.SelectMany((m, p) => m.SelectMany(x => new[] { offsets[pairs[p].A] + x.A, offsets[pairs[p].B] + x.B })).ToHashSet();
            foreach (var node in matched)
            {
                var image = Array.FindLastIndex(offsets, o => o <= node);
                var root = Find(node);
                if (!components.TryGetValue(root, out var members)) components[root] = members = [];
                members.Add((image, node - offsets[image]));
            }

            var added = 0;
            foreach (var members in components.Values)
            {
                if (members.Count < 2 || members.Select(m => m.Image).Distinct().Count() != members.Count) continue;
                tracks.AddTrack(members.Select(m => new TrackObservation(images[m.Image].Image, keypoints[m.Image][m.Keypoint].Pt.X, keypoints[m.Image][m.Keypoint].Pt.Y)).ToList());
                added++;
            }

            return added;
        }
        finally
        {
            foreach (var d in descriptors) d?.Dispose();
        }
    }

    /// <summary>Ratio-tested mutual nearest neighbours, kept when a RANSAC fundamental matrix agrees with enough of them.</summary>
    private static List<(int A, int B)> MatchPair(KeyPoint[] ka, Mat da, KeyPoint[] kb, Mat db, DescriptorMatchSettings settings, double threshold)
    {
        if (ka.Length < settings.MinPairMatches || kb.Length < settings.MinPairMatches) return [];
        using var matcher = new BFMatcher(NormTypes.L2);
        var forward = matcher.KnnMatch(da, db, 2);
        var backward = matcher.KnnMatch(db, da, 2);
        int Best(DMatch[][] knn, int query) =>
            knn[query].Length == 2 && knn[query][0].Distance < settings.Ratio * knn[query][1].Distance ? knn[query][0].TrainIdx : -1;
        var candidates = new List<(int A, int B)>();
        for (var q = 0; q < forward.Length; q++)
        {
            var b = Best(forward, q);
            if (b >= 0 && Best(backward, b) == q) candidates.Add((q, b));
        }

        if (candidates.Count < settings.MinPairMatches) return [];
        var pa = candidates.Select(c => ka[c.A].Pt).ToArray();
        var pb = candidates.Select(c => kb[c.B].Pt).ToArray();
        using var inliers = new Mat();
        try
        {
            using var f = Cv2.FindFundamentalMat(pa, pb, FundamentalMatMethods.Ransac, threshold, 0.999, inliers);
            if (f.Empty() || inliers.Rows != candidates.Count) return [];
        }
        catch (OpenCVException)
        {
            return [];   // degenerate point sets: no geometry to verify against
        }

        var kept = candidates.Where((_, k) => inliers.At<byte>(k) != 0).ToList();
        return kept.Count >= settings.MinPairMatches ? kept : [];
    }

    /// <summary>RootSIFT (Arandjelovic and Zisserman): L1-normalise each descriptor and take square roots, so Euclidean
    /// distance compares them like the Hellinger kernel; more reliable matches at no cost.</summary>
    private static void RootSift(Mat descriptors)
    {
        int rows = descriptors.Rows, columns = descriptors.Cols;
        if (rows == 0) return;
        if (descriptors.Type() != MatType.CV_32FC1 || !descriptors.IsContinuous())
            throw new InvalidOperationException("SIFT descriptors are expected as one continuous float32 matrix");
        var values = new float[rows * columns];
        Marshal.Copy(descriptors.Data, values, 0, values.Length);
        for (var r = 0; r < rows; r++)
        {
            var row = values.AsSpan(r * columns, columns);
            var sum = 0f;
            foreach (var v in row) sum += Math.Abs(v);
            if (sum <= 0) continue;
            for (var c = 0; c < columns; c++) row[c] = MathF.Sqrt(Math.Abs(row[c]) / sum);
        }

        Marshal.Copy(values, 0, descriptors.Data, values.Length);
    }
}
