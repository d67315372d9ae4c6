using System.Text.Json.Serialization;

namespace Concerto.Ingest.Core.Profiles;

/// <summary>The part of an image the teacher sees, in the image's own pixels.</summary>
public readonly record struct TeacherCrop(int X, int Y, int Width, int Height);

/// <summary>An image teacher's patch grid and how image pixels reach it, as Pointcept's <c>DefaultImagePointDataset</c>
/// maps them: the image is centre-cropped to the largest (k x <see cref="Columns"/>) x (k x <see cref="Rows"/>) box it
/// holds, resized to <see cref="InputWidth"/> x <see cref="InputHeight"/>, and cut into <see cref="PatchSize"/>-pixel
/// patches; tokens are row-major (row x Columns + column). DINOv2 at 518 x 518 is 37 x 37 patches of 14 px; Pointcept's
/// default crop 630 x 1120 is 45 x 80. The featurize stage writes features on this grid and the trainer maps every
/// correspondence into it, so both use this one type.</summary>
public sealed record TeacherGrid(int Rows, int Columns, int PatchSize)
{
    /// <summary>Concerto's DINOv2 grid (spec section 3): 37 x 37 patches of 14 px, 518 x 518 input.</summary>
    public static TeacherGrid Dinov2 { get; } = new(37, 37, 14);

    [JsonIgnore] public int InputHeight => Rows * PatchSize;
    [JsonIgnore] public int InputWidth => Columns * PatchSize;
    [JsonIgnore] public int Tokens => Rows * Columns;

    /// <summary>"37 x 37 patches of 14 px" for messages.</summary>
    public override string ToString() => $"{Rows} x {Columns} patches of {PatchSize} px";

    /// <summary>Null when the grid is usable, else why not.</summary>
    public string? Problem() =>
        Rows < 1 || Columns < 1 ? $"a {Rows} x {Columns} grid has no patches"
        : PatchSize < 1 ? $"patch size {PatchSize} px is not positive"
        : (long)InputHeight * InputWidth > 64L * 1024 * 1024 ? $"a {InputWidth} x {InputHeight} input is too large"
        : null;

    /// <summary>The centre crop of a width x height image, or null when the image is smaller than one row and column of
    /// pixels per patch. The crop is k x Columns wide and k x Rows high for the largest k that fits, at
    /// ((width - crop width) / 2, (height - crop height) / 2), integer division.</summary>
    public TeacherCrop? Crop(int width, int height)
    {
        var k = Math.Min(width / Columns, height / Rows);
        if (k < 1) return null;
        int w = k * Columns, h = k * Rows;
        return new TeacherCrop((width - w) / 2, (height - h) / 2, w, h);
    }

    /// <summary>The patch (row, col) that sees pixel (<paramref name="u"/> = column, <paramref name="v"/> = row) of a
    /// width x height image, or (-1, -1) outside the crop. The pixel is floored to its integer index p, then
    /// patch = floor((p - crop offset) x input side / crop side / patch size), as the reference maps integer pixels.</summary>
    public (int Row, int Col) PatchOf(float u, float v, int width, int height)
    {
        if (Crop(width, height) is not { } crop) return (-1, -1);
        var col = Patch(u, crop.X, crop.Width, InputWidth);
        var row = Patch(v, crop.Y, crop.Height, InputHeight);
        return col < 0 || row < 0 ? (-1, -1) : (row, col);
    }

    private int Patch(float pixel, int offset, int cropSide, int inputSide)
    {
        var p = Math.Floor((double)pixel) - offset;
        if (!(p >= 0 && p < cropSide)) return -1; // also rejects NaN
        return (int)((long)p * inputSide / ((long)cropSide * PatchSize));
    }
}
