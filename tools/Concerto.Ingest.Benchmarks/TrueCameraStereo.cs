using System.Runtime.CompilerServices;
using Concerto.Ingest.Core.Geometry;
using Concerto.Ingest.Formats.PointClouds;
using Concerto.Ingest.Reconstruction.Classic;
using Concerto.Ingest.Reconstruction.Classic.Sfm;
using Concerto.Ingest.Reconstruction.Classic.Stereo;
using Concerto.Ingest.Reconstruction.Fusion;
using Concerto.Ingest.Reconstruction.Pipeline;
using Concerto.Ingest.Reconstruction.Posed;
using Concerto.Ingest.Reconstruction.Vggt;
using Microsoft.Extensions.Logging.Abstractions;

namespace Concerto.Ingest.Benchmarks;

/// <summary>`bench recon --methods stereo`: classic's multi-view stereo on a synthetic capture's true cameras (and the
/// depth range from its ground-truth cloud), so the table can tell what the stereo alone gives from what camera error
/// adds. A benchmark diagnostic, not a reconstructor users can pick: it reads the truth.</summary>
internal sealed class TrueCameraStereo(string captureFolder, ClassicSettings settings) : IReconstructor
{
    public string Method => "stereo";

    public string? ModelHash => null;

    public async IAsyncEnumerable<(ReconstructedView View, DepthFrame Frame)> ReconstructAsync(IReadOnlyList<KeyframeRef> keyframes,
        [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var manifest = CaptureReader.Load(captureFolder);
        var size = RgbFrame.Read(keyframes[0].ImagePath);
        var m = manifest.Intrinsics;
        var intrinsics = new PinholeIntrinsics(manifest.Width, manifest.Height, m.Fx, m.Fy, m.Cx, m.Cy).ScaledTo(size.Width, size.Height);
        var cameras = keyframes.Select((k, i) =>
        {
            var index = Math.Clamp((int)Math.Round(k.Time * manifest.Fps), 0, manifest.Frames.Count - 1);
            return new SfmCamera(i, k.ImagePath, RigidTransform.FromMatrix4(manifest.Frames[index].CameraToWorld), 0);
        }).ToList();
        var truth = PointCloudFiles.ReadCoord(Path.Combine(captureFolder, manifest.PointCloud!.Folder));
        var step = Math.Max(1, truth.Length / 3 / 20000);
        var points = new List<SfmPoint>();
        for (var i = 0; i < truth.Length / 3; i += step) points.Add(new SfmPoint(new V3(truth[3 * i], truth[3 * i + 1], truth[3 * i + 2]), 2));
        // The stereo's neighbour baselines are in units of the median depth, as for classic's and COLMAP's worlds.
        var world = KeyframeStereo.ToUnitMedianDepth(new SfmResult(intrinsics, cameras, points, [], 0, false));
        var stereo = new KeyframeStereo(settings, NullLogger.Instance);
        await foreach (var item in stereo.StreamAsync(keyframes, world, intrinsics, cancellationToken).ConfigureAwait(false))
            yield return item;
    }
}
