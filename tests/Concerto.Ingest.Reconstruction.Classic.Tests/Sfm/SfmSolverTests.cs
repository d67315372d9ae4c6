using Xunit.Abstractions;
using System.Diagnostics;
using Concerto.Ingest.Core.Geometry;
using Concerto.Ingest.Reconstruction.Classic.Sfm;
using Concerto.Ingest.Reconstruction.Evaluation;

namespace Concerto.Ingest.Reconstruction.Classic.Tests.Sfm;

public sealed class SfmSolverTests(ITestOutputHelper output)
{
    private const int Keyframes = 40;
    private const double KeyframeFps = 5;

    private (SfmResult Result, CameraAlignment Alignment, double Extent) Run(int seed, bool giveFocal)
    {
        using var sequence = new SyntheticSequence(seed, Keyframes, KeyframeFps);
        var clock = Stopwatch.StartNew();
        var result = SfmSolver.Solve(sequence.Images, giveFocal ? sequence.Intrinsics.Fx : null, SfmSettings.Default, CancellationToken.None);
        var elapsed = clock.Elapsed;
        var estimated = result.Cameras.Select(c => c.CameraToWorld.T).ToList();
        var truth = result.Cameras.Select(c => sequence.Truth[c.ImageIndex].T).ToList();
        var alignment = ReconstructionEvaluation.AlignCameras(estimated, truth);
        var extent = Extent(sequence.Truth.Select(t => t.T).ToList());
        output.WriteLine($"seed {seed} focal {(giveFocal ? "given" : "estimated")}: registered {result.Cameras.Count}/{Keyframes}, points {result.Points.Count}, " +
            $"reprojection RMS {result.RmsReprojectionError:0.000} px, camera RMS {alignment.RmsPositionError * 1000:0.0} mm (max {alignment.MaxPositionError * 1000:0.0}), " +
            $"extent {extent:0.000} m ({alignment.RmsPositionError / extent * 100:0.00}%), focal {result.Intrinsics.Fx:0.00} vs {sequence.Intrinsics.Fx:0.00} " +
            $"({(result.Intrinsics.Fx / sequence.Intrinsics.Fx - 1) * 100:0.00}%), {elapsed.TotalSeconds:0.0} s ({elapsed.TotalMilliseconds / Keyframes:0} ms/keyframe)");
        return (result, alignment, extent);
    }

    /// <summary>Diagonal of the bounding box of the camera centres.</summary>
    private static double Extent(IReadOnlyList<V3> all) =>
        Math.Sqrt(Math.Pow(all.Max(p => p.X) - all.Min(p => p.X), 2) + Math.Pow(all.Max(p => p.Y) - all.Min(p => p.Y), 2) + Math.Pow(all.Max(p => p.Z) - all.Min(p => p.Z), 2));

    // Keyframes alone (no video frames between them to carry the tracks): seeds 2 and 3 lose their tracks where the
    // camera turns fast (26/40 and 14/40 registered, measured); the reconstructor tracks through the video for that.
    [Theory]
    [InlineData(1)]
    public void Solve_RecoversTrajectory_WhenFocalGiven(int seed)
    {
        var (result, alignment, extent) = Run(seed, giveFocal: true);
        Assert.True(result.RegisteredFraction >= 0.9, $"registered {result.RegisteredFraction:P0}");
        Assert.True(alignment.RmsPositionError < 0.02 * extent, $"camera RMS {alignment.RmsPositionError} m vs extent {extent} m");
        Assert.True(result.Points.Count > 500);
    }

    [Theory]
    [InlineData(1)]
    public void Solve_EstimatesFocal_WhenNotGiven(int seed)
    {
        var (result, alignment, extent) = Run(seed, giveFocal: false);
        Assert.True(result.RegisteredFraction >= 0.9, $"registered {result.RegisteredFraction:P0}");
        Assert.True(alignment.RmsPositionError < 0.03 * extent, $"camera RMS {alignment.RmsPositionError} m vs extent {extent} m");
        var truthFocal = PinholeIntrinsics.FromHorizontalFov(320, 240, 70).Fx;
        Assert.InRange(result.Intrinsics.Fx / truthFocal, 0.97, 1.03);
    }

    // The diagnostic behind `bench recon --methods tracks`: the same tracks bundle-adjusted from given cameras. From the
    // true cameras it moves as far off as the incremental solve lands (seed 1: 30.5 mm against Solve's 29.6, measured),
    // and from cameras pushed up to 8 cm off at random it comes back to that error (30.4 mm), though to cameras 26 mm
    // from the first solution: the tracks, not the solver, set the error, and leave that much freedom.
    [Fact]
    public void Refine_FromGivenCameras_ConvergesToTheTracksSolution()
    {
        using var sequence = new SyntheticSequence(seed: 1, Keyframes, KeyframeFps);
        var tracks = FeatureTracks.Build(sequence.Images, SfmSettings.Default, CancellationToken.None);
        var truth = sequence.Truth.Select(t => t.T).ToList();
        var random = new Random(3);
        V3 Noise(double size) => new V3(random.NextDouble() - 0.5, random.NextDouble() - 0.5, random.NextDouble() - 0.5) * (2 * size);
        var pushed = sequence.Truth.Select(t => t with { T = t.T + Noise(0.08) }).ToList();
        List<V3> Refined(IReadOnlyList<RigidTransform> start)
        {
            var result = SfmSolver.Refine(tracks, sequence.Images, sequence.Intrinsics.Fx, start, SfmSettings.Default, CancellationToken.None);
            Assert.Equal(Keyframes, result.Cameras.Count);
            Assert.True(result.Points.Count > 500, $"{result.Points.Count} points");
            return result.Cameras.Select(c => c.CameraToWorld.T).ToList();
        }

        var (fromTruth, fromPushed) = (Refined(sequence.Truth), Refined(pushed));
        var start = ReconstructionEvaluation.AlignCameras(pushed.Select(t => t.T).ToList(), truth).RmsPositionError;
        var errorFromTruth = ReconstructionEvaluation.AlignCameras(fromTruth, truth).RmsPositionError;
        var errorFromPushed = ReconstructionEvaluation.AlignCameras(fromPushed, truth).RmsPositionError;
        var apart = ReconstructionEvaluation.AlignCameras(fromPushed, fromTruth).RmsPositionError;
        output.WriteLine($"camera RMS: from the truth {errorFromTruth * 1000:0.0} mm; from {start * 1000:0.0} mm off {errorFromPushed * 1000:0.0} mm; " +
                         $"the two solutions {apart * 1000:0.0} mm apart");
        Assert.True(errorFromTruth < 0.02 * Extent(truth), $"from the truth {errorFromTruth} m");
        Assert.True(errorFromPushed < start / 2, $"from {start} m off: {errorFromPushed} m");
    }
}
