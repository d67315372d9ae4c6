using Concerto.Ingest.Core.Geometry;
using Concerto.Ingest.Synthetic.Scenes;

namespace Concerto.Ingest.Synthetic.Capture;

/// <summary>A hand-held walk: the camera follows the scene's walkway ellipse at walking pace and eye height, looks
/// around (yaw swinging between the walls and the room centre, some pitch), with small roll, bob and jitter from
/// sums of sines with seeded phases. Smooth and deterministic for a given seed.</summary>
public sealed class CameraPath
{
    private const double Speed = 0.45;        // metres per second along the walkway
    private const double EyeHeight = 1.5;
    private readonly Scene _scene;
    private readonly double[] _phases;
    private readonly double _direction;
    private readonly double _start;

    public CameraPath(Scene scene, int seed)
    {
        _scene = scene;
        var rng = new Random(seed ^ 0x5eed);
        _phases = Enumerable.Range(0, 12).Select(_ => rng.NextDouble() * 2 * Math.PI).ToArray();
        _direction = rng.NextDouble() < 0.5 ? -1 : 1;
        _start = rng.NextDouble() * 2 * Math.PI;
    }

    /// <summary>Camera-to-world pose at time <paramref name="seconds"/>, OpenCV axes.</summary>
    public RigidTransform PoseAt(double seconds)
    {
        var (a, b) = _scene.Walkway;
        var perimeter = Math.PI * (3 * (a + b) - Math.Sqrt((3 * a + b) * (a + 3 * b)));  // Ramanujan
        var theta = _start + _direction * seconds * Speed / perimeter * 2 * Math.PI;
        double Wave(int i, double hz, double amplitude) => amplitude * Math.Sin(2 * Math.PI * hz * seconds + _phases[i]);

        var sway = Wave(0, 0.23, 0.12) + Wave(1, 1.7, 0.004);   // metres off the walkway, plus step jitter
        var position = new V3((a + sway) * Math.Cos(theta), (b + sway) * Math.Sin(theta),
            EyeHeight + Wave(2, 1.8, 0.015) + Wave(3, 0.11, 0.06));

        var tangent = Math.Atan2(b * Math.Cos(theta), -a * Math.Sin(theta)) + (_direction < 0 ? Math.PI : 0);
        // Turned partly toward the room centre (on the inner side of the walk), swinging out to the walls and back.
        var yaw = tangent + _direction * 0.75 + Wave(4, 0.07, 0.85) + Wave(5, 0.19, 0.3) + Wave(6, 2.3, 0.006);
        var pitch = -0.12 + Wave(7, 0.13, 0.18) + Wave(8, 2.9, 0.005);
        var roll = Wave(9, 0.31, 0.035) + Wave(10, 3.1, 0.004);

        var forward = new V3(Math.Cos(pitch) * Math.Cos(yaw), Math.Cos(pitch) * Math.Sin(yaw), Math.Sin(pitch));
        var right = forward.Cross(V3.UnitZ).Normalized;
        var down = forward.Cross(right);
        // Roll about the viewing axis.
        var (cr, sr) = (Math.Cos(roll), Math.Sin(roll));
        var rolledRight = right * cr + down * sr;
        var rolledDown = down * cr - right * sr;
        return RigidTransform.FromAxes(rolledRight, rolledDown, forward, position);
    }
}
