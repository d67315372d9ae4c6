using System.Text.Json;
using Concerto.Ingest.Core.Captures;
using Concerto.Ingest.Core.Geometry;
using Concerto.Ingest.Formats.Arrays;
using Concerto.Ingest.Media.Ffmpeg;
using Concerto.Ingest.Storage.Catalog;
using Concerto.Ingest.Synthetic.Capture;
using OpenCvSharp;

namespace Concerto.Ingest.Jobs.Tests;

/// <summary>The segment stage through the real job path on a posed synthetic capture, checked against the capture's
/// ground truth from the files a trainer reads (coord.npy, pose/, intrinsic/, correspondence/, segment.npy).</summary>
public sealed class SegmentStageTests : PipelineTestBase
{
    private static readonly SynthSettings Capture = new(Seed: 6, Frames: 150, Width: 320, Height: 240, Fps: 10, Points: 300_000);

    /// <summary>Measured: 3 segments, 709k correspondences, none hidden, 99.5% of labels agree with the nearest ground-truth
    /// point (the rest sit on label edges, where the nearest true point can be across the edge).</summary>
    [Fact]
    public async Task Segments_ReprojectIntoTheirPixels_HideNothingOccluded_AndCarryTheCapturesLabels()
    {
        var folder = Directory.CreateTempSubdirectory("concerto-segment-stage-").FullName;
        try
        {
            await new SyntheticCaptureWriter(FfmpegTools.Locate()).WriteAsync(Capture, folder, null, CancellationToken.None);
            var row = Assert.Single(await IngestAsync(Profile, false, Path.Combine(folder, SyntheticCaptureWriter.VideoFile)));
            Assert.True(row.Succeeded, row.Error);
            var runId = row.RunId!.Value;
            var scene = (await new ReconstructionIndex(Db.DataSource).GetAsync(runId, CancellationToken.None))!.Value.Scene;
            var truth = new CaptureTruth(folder);

            var segments = await ListSegmentsAsync(runId);
            Assert.True(segments.Count >= 2, $"{segments.Count} segments");
            long rows = 0, hidden = 0, labelled = 0, agreeing = 0;
            foreach (var (artifactKey, points, correspondences, frames) in segments)
            {
                var dir = Path.Combine(Artifacts, artifactKey);
                var (coord, shape) = Npy.Read<float>(Path.Combine(dir, "coord.npy"));
                Assert.Equal([points, 3], shape);
                var (labels, _) = Npy.Read<int>(Path.Combine(dir, "segment.npy"));
                long segmentRows = 0;
                var checkedLabel = new HashSet<int>();
                for (var i = 0; i < 4; i++)
                {
                    var pose = RigidTransform.FromMatrix4(Npy.Read<float>(Path.Combine(dir, "pose", $"{i}.npy")).Data.Select(v => (double)v).ToArray());
                    var k = Npy.Read<float>(Path.Combine(dir, "intrinsic", $"{i}.npy")).Data;
                    var (pairs, _) = Npy.Read<float>(Path.Combine(dir, "correspondence", $"{i}.npy"));
                    using var image = Cv2.ImRead(Path.Combine(dir, "color", $"{i}.jpg"));
                    var frame = frames[i];
                    var toCamera = pose.Inverse();
                    for (var r = 0; r < pairs.Length / 3; r++)
                    {
                        float u = pairs[3 * r], v = pairs[3 * r + 1];
                        var p = (int)pairs[3 * r + 2];
                        var camera = toCamera.Apply(new V3(coord[3 * p], coord[3 * p + 1], coord[3 * p + 2]));
                        double pu = k[0] * camera.X / camera.Z + k[2], pv = k[4] * camera.Y / camera.Z + k[5];
                        Assert.True(Math.Abs(pu - u) <= 1 && Math.Abs(pv - v) <= 1, $"({u}, {v}) vs projection ({pu:0.00}, {pv:0.00})");
                        Assert.InRange(u, -0.5, image.Width - 0.5);
                        Assert.InRange(v, -0.5, image.Height - 0.5);

                        // Hidden: behind the true surface (capture depth, metres) at every pixel around its own, by more
                        // than the fused cloud's own error (its 2 cm voxel).
                        var metres = camera.Z / scene.Scale;
                        var nearest = truth.MaxDepthAround(frame, (u + 0.5) * Capture.Width / image.Width - 0.5, (v + 0.5) * Capture.Height / image.Height - 0.5);
                        if (metres > nearest + 0.03 + 0.01 * metres) hidden++;
                        rows++;
                        segmentRows++;

                        // The label against the ground-truth cloud's nearest point: camera coordinates in metres put
                        // through the capture's own camera land in the capture's world.
                        if (!checkedLabel.Add(p) || labels[p] < 0) continue;
                        var truthLabel = truth.LabelNear(truth.CameraToWorld(frame).Apply(camera / scene.Scale));
                        if (truthLabel < 0) continue;
                        labelled++;
                        if (labels[p] == truthLabel) agreeing++;
                    }
                }

                Assert.Equal(correspondences, segmentRows);
            }

            Assert.True(rows > 20_000, $"{rows} correspondences");
            Assert.Equal(0, hidden);
            Assert.True(agreeing > 0.99 * labelled, $"{agreeing} of {labelled} labels agree with the ground truth cloud");
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    private async Task<List<(string ArtifactKey, int Points, long Correspondences, int[] Frames)>> ListSegmentsAsync(long runId)
    {
        await using var command = Db.DataSource.CreateCommand("""
            SELECT artifact_key, points, correspondences, (SELECT array_agg(frame_index ORDER BY slot) FROM segment_images WHERE segment_id = s.id)
            FROM segments s WHERE run_id = $1 AND retired_at IS NULL ORDER BY ordinal
            """);
        command.Parameters.Add(new Npgsql.NpgsqlParameter { Value = runId });
        await using var reader = await command.ExecuteReaderAsync();
        var rows = new List<(string, int, long, int[])>();
        while (await reader.ReadAsync()) rows.Add((reader.GetString(0), reader.GetInt32(1), reader.GetInt64(2), reader.GetFieldValue<int[]>(3)));
        return rows;
    }

    /// <summary>A synthetic capture's ground truth: per-frame depth (metres) and cameras, and the labelled point cloud.</summary>
    private sealed class CaptureTruth
    {
        private readonly string _folder;
        private readonly CaptureManifest _manifest;
        private readonly Dictionary<int, (float[] Depth, int Width, int Height)> _depth = [];
        private readonly float[] _coord;
        private readonly int[] _labels;
        private readonly Dictionary<(int, int, int), List<int>> _cells = [];
        private const double Cell = 0.05;

        public CaptureTruth(string folder)
        {
            _folder = folder;
            _manifest = JsonSerializer.Deserialize<CaptureManifest>(File.ReadAllText(Path.Combine(folder, CaptureManifest.FileName)), CaptureManifest.JsonOptions)!;
            _coord = Npy.Read<float>(Path.Combine(folder, _manifest.PointCloud!.Folder, "coord.npy")).Data;
            _labels = Npy.Read<int>(Path.Combine(folder, _manifest.PointCloud.Folder, "segment.npy")).Data;
            for (var i = 0; i < _labels.Length; i++)
            {
                var key = CellOf(new V3(_coord[3 * i], _coord[3 * i + 1], _coord[3 * i + 2]));
                if (!_cells.TryGetValue(key, out var list)) _cells[key] = list = [];
                list.Add(i);
            }
        }

        public RigidTransform CameraToWorld(int frame) => RigidTransform.FromMatrix4(_manifest.Frames.Single(f => f.Index == frame).CameraToWorld);

        /// <summary>The farthest true depth in the 3x3 pixels around (u, v); infinite where a pixel has no depth.</summary>
        public double MaxDepthAround(int frame, double u, double v)
        {
            if (!_depth.TryGetValue(frame, out var d))
            {
                using var png = Cv2.ImRead(Path.Combine(_folder, _manifest.Depth.Folder, $"{frame:D6}.png"), ImreadModes.Unchanged);
                int width = png.Width, height = png.Height;
                var depth = new float[width * height];
                for (var y = 0; y < height; y++)
                for (var x = 0; x < width; x++)
                    depth[y * width + x] = (float)(png.At<ushort>(y, x) / _manifest.Depth.UnitsPerMetre!.Value);
                _depth[frame] = d = (depth, width, height);
            }

            int cu = (int)Math.Round(u), cv = (int)Math.Round(v);
            var max = 0.0;
            for (var y = Math.Max(0, cv - 1); y <= Math.Min(d.Height - 1, cv + 1); y++)
            for (var x = Math.Max(0, cu - 1); x <= Math.Min(d.Width - 1, cu + 1); x++)
            {
                var z = d.Depth[y * d.Width + x];
                max = z <= 0 ? double.PositiveInfinity : Math.Max(max, z);
                if (double.IsPositiveInfinity(max)) return max;
            }

            return max;
        }

        /// <summary>The label of the nearest ground-truth point within 5 cm, or -1.</summary>
        public int LabelNear(V3 p)
        {
            var (cx, cy, cz) = CellOf(p);
            var best = (Label: -1, Distance: Cell * Cell);
            for (var x = cx - 1; x <= cx + 1; x++)
            for (var y = cy - 1; y <= cy + 1; y++)
            for (var z = cz - 1; z <= cz + 1; z++)
            {
                if (!_cells.TryGetValue((x, y, z), out var list)) continue;
                foreach (var i in list)
                {
                    var offset = new V3(_coord[3 * i], _coord[3 * i + 1], _coord[3 * i + 2]) - p;
                    var d = offset.Dot(offset);
                    if (d < best.Distance) best = (_labels[i], d);
                }
            }

            return best.Label;
        }

        private static (int, int, int) CellOf(V3 p) => ((int)Math.Floor(p.X / Cell), (int)Math.Floor(p.Y / Cell), (int)Math.Floor(p.Z / Cell));
    }
}
