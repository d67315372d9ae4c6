using Concerto.Ingest.Synthetic.Rendering;
using Concerto.Ingest.Synthetic.Scenes;
using Concerto.Ingest.Synthetic.Training;
using Concerto.Ingest.Train.Views;

namespace Concerto.Ingest.Synthetic.Tests.Training;

public class SyntheticTeacherTests
{
    [Fact]
    public void PatchInputs_UseTheTrainersCrop_ForA160By120Frame()
    {
        // 160 x 120: crop side 111 at (24, 4), 3 x 3 pixels per patch. Patch (0, 0) alone shows a door, the rest a wall.
        var frame = Frame(160, 120, (x, y) => x is >= 24 and < 27 && y is >= 4 and < 7 ? SemanticClass.Door : SemanticClass.Wall, (_, _) => 128);
        var inputs = SyntheticTeacher.PatchInputs(frame);
        var width = SyntheticTeacher.InputWidth;

        Assert.Equal(1.0, inputs[(int)SemanticClass.Door]);
        Assert.Equal(0.0, inputs[(int)SemanticClass.Wall]);
        Assert.Equal(1.0, inputs[width + (int)SemanticClass.Wall]); // patch (0, 1)
        Assert.Equal(1.0, inputs[37 * width + (int)SemanticClass.Wall]); // patch (1, 0)
        Assert.Equal(SyntheticTeacher.ColorWeight * (128 / 255.0 - 0.5), inputs[SyntheticTeacher.Classes], 12);
        // The same patches as the trainer's mapping of those pixels.
        Assert.Equal((0, 0), MajorView.PatchCoordinates(26, 6, 160, 120));
        Assert.Equal((0, 1), MajorView.PatchCoordinates(27, 4, 160, 120));
        Assert.Equal((-1, -1), MajorView.PatchCoordinates(23, 4, 160, 120));
        Assert.Equal((36, 36), MajorView.PatchCoordinates(134, 114, 160, 120));
    }

    [Fact]
    public void Featurize_GivesParallelFeatures_ForOneClass_AndUnrelatedOnes_ForTwo()
    {
        // Left of x = 80 floor, right table; colours vary along y within each half.
        var frame = Frame(160, 120, (x, _) => x < 80 ? SemanticClass.Floor : SemanticClass.Table, (_, y) => (byte)(60 + y));
        var teacher = new SyntheticTeacher(32, seed: 5, noise: 0.05);
        var features = teacher.Featurize(frame, noiseSeed: 1);
        Assert.Equal(1369 * 32, features.Length);

        float[] Patch(int row, int col) => Enumerable.Range(0, 32).Select(c => (float)features[(row * 37 + col) * 32 + c]).ToArray();
        var floorTop = Patch(2, 3);
        var floorBottom = Patch(34, 10);
        var tableTop = Patch(2, 30);
        Assert.True(Cosine(floorTop, floorBottom) > 0.9, $"floor vs floor {Cosine(floorTop, floorBottom):F3}");
        Assert.True(Cosine(floorTop, tableTop) < 0.6, $"floor vs table {Cosine(floorTop, tableTop):F3}");
        // Unit-scale channels for a pure-class patch.
        Assert.InRange(Math.Sqrt(floorTop.Sum(v => v * v) / 32), 0.4, 2.5);

        // Fixed projection: the same seed gives the same features; another noise seed changes them only a little.
        Assert.Equal(features, new SyntheticTeacher(32, seed: 5, noise: 0.05).Featurize(frame, noiseSeed: 1));
        var renoised = new SyntheticTeacher(32, seed: 5, noise: 0.05).Featurize(frame, noiseSeed: 2);
        Assert.NotEqual(features, renoised);
        Assert.True(Cosine(floorTop, Enumerable.Range(0, 32).Select(c => (float)renoised[(2 * 37 + 3) * 32 + c]).ToArray()) > 0.99);
    }

    /// <summary>A 9 x 16 grid on a 200 x 100 frame: k = min(200 / 16, 100 / 9) = 11, crop 176 x 99 at (12, 0), 11 x 11
    /// pixels per patch. Patch (8, 15) is the bottom-right one; its pixels are x 177..187, y 88..98.</summary>
    [Fact]
    public void PatchInputs_FollowANonSquareGrid()
    {
        var grid = new Concerto.Ingest.Core.Profiles.TeacherGrid(9, 16, 14);
        var frame = Frame(200, 100, (x, y) => x is >= 177 and < 188 && y is >= 88 and < 99 ? SemanticClass.Door : SemanticClass.Wall, (_, _) => 128);
        var inputs = SyntheticTeacher.PatchInputs(frame, grid);
        var width = SyntheticTeacher.InputWidth;
        Assert.Equal(9 * 16 * width, inputs.Length);
        Assert.Equal(1.0, inputs[(8 * 16 + 15) * width + (int)SemanticClass.Door]);
        Assert.Equal(1.0, inputs[(8 * 16 + 14) * width + (int)SemanticClass.Wall]);
        Assert.Equal(1.0, inputs[(7 * 16 + 15) * width + (int)SemanticClass.Wall]);
        Assert.Equal((8, 15), MajorView.PatchCoordinates(187, 98, 200, 100, grid));
        Assert.Equal((-1, -1), MajorView.PatchCoordinates(188, 98, 200, 100, grid));
        var features = new SyntheticTeacher(4, seed: 1, noise: 0, grid).Featurize(frame, noiseSeed: 1);
        Assert.Equal(9 * 16 * 4, features.Length);
    }

    private static RenderedFrame Frame(int width, int height, Func<int, int, SemanticClass> label, Func<int, int, byte> gray)
    {
        var frame = new RenderedFrame(width, height);
        for (var y = 0; y < height; y++)
        for (var x = 0; x < width; x++)
        {
            var i = y * width + x;
            frame.Semantic[i] = (byte)label(x, y);
            frame.Depth[i] = 2;
            frame.Rgb[3 * i] = frame.Rgb[3 * i + 1] = frame.Rgb[3 * i + 2] = gray(x, y);
        }

        return frame;
    }

    private static double Cosine(float[] a, float[] b)
    {
        double dot = 0, na = 0, nb = 0;
        for (var i = 0; i < a.Length; i++)
        {
            dot += a[i] * b[i];
            na += a[i] * a[i];
            nb += b[i] * b[i];
        }

        return dot / Math.Sqrt(na * nb);
    }
}
