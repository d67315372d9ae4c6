using Concerto.Ingest.Core.Geometry;
using Concerto.Ingest.Media.Probe;
using Concerto.Ingest.Media.Ffmpeg;

namespace Concerto.Ingest.Synthetic.Tests;

/// <summary>Geometry of a written capture, checked against the scene itself: saved depth + intrinsics + pose land on
/// the surfaces, frames agree with each other, the ground-truth cloud's labels agree with the rendered labels.</summary>
public sealed class CaptureGeometryTests(RenderedCapture capture) : IClassFixture<RenderedCapture>
{
    [Fact]
    public void SavedDepth_UnprojectsOntoSceneSurface_WithinOneMillimetre()
    {
        var worst = 0.0;
        var checkedPixels = 0;
        foreach (var frame in new[] { 0, 11, 23 })
        {
            var depth = capture.Depth(frame);
            for (var v = 0; v < capture.Manifest.Height; v += 5)
            for (var u = 0; u < capture.Manifest.Width; u += 5)
            {
                if (depth[v, u] <= 0) continue;
                worst = Math.Max(worst, capture.Scene.DistanceToSurface(capture.Unproject(frame, depth, u, v)));
                checkedPixels++;
            }
        }

        Assert.True(checkedPixels > 8000, $"only {checkedPixels} pixels had depth");
        Assert.True(worst < 0.001, $"worst distance to the surface {worst * 1000:0.000} mm");
    }

    [Fact]
    public void SurfacePoint_ReprojectsBetweenFrames_WithinHalfAPixel()
    {
        const int a = 5, b = 9;
        var depthA = capture.Depth(a);
        var depthB = capture.Depth(b);
        var worldToB = capture.CameraToWorld(b).Inverse();
        var worldToA = capture.CameraToWorld(a).Inverse();
        var cameraB = capture.CameraToWorld(b);
        var worst = 0.0;
        var pairs = 0;
        for (var v = 2; v < capture.Manifest.Height - 2; v += 6)
        for (var u = 2; u < capture.Manifest.Width - 2; u += 6)
        {
            if (depthA[v, u] <= 0) continue;
            var x = capture.Unproject(a, depthA, u, v);
            var inB = worldToB.Apply(x);
            if (inB.Z <= 0.1) continue;
            var (ub, vb) = capture.Intrinsics.Project(inB);
            if (ub < 0 || vb < 0 || ub > capture.Manifest.Width - 1 || vb > capture.Manifest.Height - 1) continue;
            // Seen in B: the saved depth there agrees (not occluded by something nearer).
            if (Math.Abs(depthB[(int)Math.Round(vb), (int)Math.Round(ub)] - inB.Z) > 0.005) continue;

            // The surface point B sees at that sub-pixel position, mapped back into A, is where we started.
            Assert.True(capture.Scene.Trace(cameraB.T, cameraB.Rotate(capture.Intrinsics.Ray(ub, vb)), out var hit));
            var y = cameraB.T + cameraB.Rotate(capture.Intrinsics.Ray(ub, vb)) * hit.T;
            if ((y - x).Length > 0.005) continue; // B's ray grazes past a silhouette edge onto another surface
            var (ua, va) = capture.Intrinsics.Project(worldToA.Apply(y));
            worst = Math.Max(worst, Math.Sqrt((ua - u) * (ua - u) + (va - v) * (va - v)));
            pairs++;
        }

        Assert.True(pairs > 500, $"only {pairs} points seen in both frames");
        Assert.True(worst < 0.5, $"worst round trip {worst:0.000} px");
    }

    [Fact]
    public void GroundTruthCloudLabels_MatchRenderedLabels_WhereVisible()
    {
        int agree = 0, compared = 0;
        foreach (var frame in new[] { 0, 12, 23 })
        {
            var depth = capture.Depth(frame);
            var labels = capture.Semantic(frame);
            var worldToCamera = capture.CameraToWorld(frame).Inverse();
            for (var k = 0; k < capture.Cloud.Count; k++)
            {
                var p = worldToCamera.Apply(capture.Cloud.Point(k));
                if (p.Z <= 0.1) continue;
                var (u, v) = capture.Intrinsics.Project(p);
                int ui = (int)Math.Round(u), vi = (int)Math.Round(v);
                if (ui < 0 || vi < 0 || ui >= capture.Manifest.Width || vi >= capture.Manifest.Height) continue;
                if (Math.Abs(depth[vi, ui] - p.Z) > 0.003) continue; // hidden, or on a silhouette edge
                compared++;
                if (labels[vi, ui] == capture.Cloud.Segment[k]) agree++;
            }
        }

        Assert.True(compared > 2000, $"only {compared} visible points");
        Assert.True(agree >= 0.99 * compared, $"{agree} of {compared} labels agree");
    }

    [Fact]
    public async Task Video_HasTheAskedFrameCountAndSize()
    {
        var info = await new VideoProber(FfmpegTools.Locate()).ProbeAsync(Path.Combine(capture.Folder, capture.Manifest.Video), CancellationToken.None);
        Assert.Equal((RenderedCapture.Settings.Width, RenderedCapture.Settings.Height), (info.Width, info.Height));
        Assert.Equal(RenderedCapture.Settings.Frames, info.FrameCount);
        Assert.Equal(RenderedCapture.Settings.Fps, info.FrameRate, 3);
        Assert.Equal(RenderedCapture.Settings.Frames, capture.Manifest.Frames.Count);
    }

    [Fact]
    public void Poses_AreRigidWithOpenCvAxes_AndStayClearOfSurfaces()
    {
        for (var i = 0; i < capture.Manifest.Frames.Count; i++)
        {
            var pose = capture.CameraToWorld(i);
            var r = pose.R;
            var x = new V3(r[0], r[3], r[6]);
            var y = new V3(r[1], r[4], r[7]);
            var z = new V3(r[2], r[5], r[8]);
            Assert.Equal(1, x.Length, 9);
            Assert.Equal(0, x.Dot(y), 9);
            Assert.Equal(0, y.Dot(z), 9);
            Assert.Equal(1, x.Cross(y).Dot(z), 9);        // right-handed: x right, y down, z forward
            Assert.True(y.Z < 0.5, "camera y (down) points roughly downward or sideways, never up");
            Assert.True(capture.Scene.DistanceToSurface(pose.T) > 0.3, $"frame {i} camera is within 30 cm of a surface");
        }
    }
}
