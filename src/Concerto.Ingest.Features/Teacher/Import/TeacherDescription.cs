using System.Text.Encodings.Web;
using System.Text.Json;
using Concerto.Ingest.Core.Media;
using Concerto.Ingest.Core.Profiles;

namespace Concerto.Ingest.Features.Teacher.Import;

/// <summary>What an imported image teacher is, written beside its model as <see cref="FileName"/>: its patch grid and
/// input, the preprocessing its input expects, and where its weights came from.</summary>
/// <param name="Model">The model's file name, beside this description.</param>
/// <param name="InputHeight">Input height the grid is given for (the graph itself takes any size).</param>
/// <param name="InputWidth">Input width the grid is given for.</param>
/// <param name="Stride">Input pixels per patch along each side.</param>
/// <param name="GridRows">Patch rows at that input.</param>
/// <param name="GridColumns">Patch columns at that input.</param>
/// <param name="Channels">Feature width per patch.</param>
/// <param name="Preprocessing">What the graph does to its input before the network, in words.</param>
/// <param name="Mean">Per-channel mean the featurize stage subtracts from [0, 1] RGB values (see <see cref="FeaturizeSettings"/>).</param>
/// <param name="Std">Per-channel divisor after the mean.</param>
/// <param name="Source">The file the weights came from (package and path).</param>
/// <param name="SourceSha256">SHA-256 of that file.</param>
public sealed record TeacherDescription(
    string Name,
    string Model,
    string InputName,
    string OutputName,
    int InputHeight,
    int InputWidth,
    int Stride,
    int GridRows,
    int GridColumns,
    int Channels,
    string Preprocessing,
    double[] Mean,
    double[] Std,
    string Source,
    string SourceSha256,
    string Licence,
    string Training,
    string CutAt)
{
    public const string FileName = "teacher.json";

    private static readonly JsonSerializerOptions Json = new()
    {
        WriteIndented = true, PropertyNamingPolicy = JsonNamingPolicy.CamelCase, Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    };

    [System.Text.Json.Serialization.JsonIgnore] public TeacherGrid Grid => new(GridRows, GridColumns, Stride);

    /// <summary>The featurize settings that run this teacher: no leading tokens, a centre box cut to a multiple of the
    /// grid and resized to the grid's input (a square grid as imageSize, another as imageHeight and imageWidth).</summary>
    public FeaturizeSettings Featurize(string folder)
    {
        var grid = Grid;
        if (grid.Problem() is { } problem) throw new BadInputException($"{Path.Combine(folder, FileName)}: {problem}; import the teacher again.");
        var square = grid.Rows == grid.Columns;
        return FeaturizeSettings.Default with
        {
            ModelPath = Path.Combine(folder, Model),
            InputName = InputName,
            OutputName = OutputName,
            LeadingTokens = 0,
            ImageSize = grid.InputHeight,
            ImageHeight = square ? null : grid.InputHeight,
            ImageWidth = square ? null : grid.InputWidth,
            PatchSize = Stride,
            Mean = Mean,
            Std = Std,
        };
    }

    public void Write(string folder) => File.WriteAllText(Path.Combine(folder, FileName), JsonSerializer.Serialize(this, Json));

    public static TeacherDescription Read(string folder)
    {
        var path = Path.Combine(folder, FileName);
        if (!File.Exists(path)) throw new BadInputException($"{path} is missing: a teacher folder holds {FileName} beside its model (`concerto teacher import`).");
        try
        {
            return JsonSerializer.Deserialize<TeacherDescription>(File.ReadAllText(path), Json)
                   ?? throw new BadInputException($"{path} is empty; import the teacher again.");
        }
        catch (JsonException e)
        {
            throw new BadInputException($"{path} is not a teacher description ({e.Message}); import the teacher again.", e);
        }
    }
}
