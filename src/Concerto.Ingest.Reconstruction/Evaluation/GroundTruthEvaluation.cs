using Concerto.Ingest.Core.Captures;
using Concerto.Ingest.Core.Geometry;
using Concerto.Ingest.Formats.PointClouds;
using Concerto.Ingest.Reconstruction.Posed;

namespace Concerto.Ingest.Reconstruction.Evaluation;

/// <summary>A reconstruction measured against a capture's ground truth, in the capture's units (metres).</summary>
public sealed record GroundTruthReport(int Cameras, CameraAlignment Alignment, ChamferDistance Chamfer, int TruthPoints, double MaxDistance);

public static class GroundTruthEvaluation
{
    /// <summary>True when the folder holds a capture with a ground-truth cloud.</summary>
    public static bool HasGroundTruth(string captureFolder) =>
        File.Exists(Path.Combine(captureFolder, CaptureManifest.FileName)) &&
        CaptureReader.Load(captureFolder).PointCloud is { } cloud && PointCloudFiles.Exists(Path.Combine(captureFolder, cloud.Folder));

    /// <summary>Aligns the reconstruction to the capture by its camera centres (Sim(3), Umeyama), then measures camera
    /// position error and truncated Chamfer distance of the aligned cloud to the ground-truth cloud.</summary>
    /// <param name="cameras">Keyframe time and camera centre in the reconstruction's frame.</param>
    /// <param name="coord">The reconstruction's points (N x 3) in the same frame.</param>
    public static GroundTruthReport Evaluate(string captureFolder, IReadOnlyList<(double Time, V3 Centre)> cameras, float[] coord, double maxDistance = 0.1)
    {
        ArgumentNullException.ThrowIfNull(cameras);
        ArgumentNullException.ThrowIfNull(coord);
        var manifest = CaptureReader.Load(captureFolder);
        var alignment = AlignCameras(manifest, cameras);

        var aligned = new float[coord.Length];
        for (var i = 0; i < coord.Length / 3; i++)
        {
            var p = alignment.EstimatedToTruth.Apply(new V3(coord[3 * i], coord[3 * i + 1], coord[3 * i + 2]));
            (aligned[3 * i], aligned[3 * i + 1], aligned[3 * i + 2]) = ((float)p.X, (float)p.Y, (float)p.Z);
        }

        var truth = PointCloudFiles.ReadCoord(Path.Combine(captureFolder, manifest.PointCloud!.Folder));
        return new GroundTruthReport(cameras.Count, alignment, ReconstructionEvaluation.Chamfer(aligned, truth, maxDistance), truth.Length / 3, maxDistance);
    }

    /// <summary>Camera centres alone aligned to the capture's (Sim(3)) and their position error: e.g. to compare methods
    /// on the keyframes they all registered.</summary>
    public static CameraAlignment CameraError(string captureFolder, IReadOnlyList<(double Time, V3 Centre)> cameras)
    {
        ArgumentNullException.ThrowIfNull(cameras);
        return AlignCameras(CaptureReader.Load(captureFolder), cameras);
    }

    private static CameraAlignment AlignCameras(CaptureManifest manifest, IReadOnlyList<(double Time, V3 Centre)> cameras)
    {
        var truthCentres = cameras.Select(c =>
        {
            var index = Math.Clamp((int)Math.Round(c.Time * manifest.Fps), 0, manifest.Frames.Count - 1);
            return RigidTransform.FromMatrix4(manifest.Frames[index].CameraToWorld).T;
        }).ToList();
        return ReconstructionEvaluation.AlignCameras(cameras.Select(c => c.Centre).ToList(), truthCentres);
    }
}
