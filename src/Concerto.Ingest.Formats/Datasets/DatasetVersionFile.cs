using System.Text.Json;
using System.Text.Json.Nodes;
using Concerto.Ingest.Core.Media;
using Concerto.Ingest.Core.Profiles;

namespace Concerto.Ingest.Formats.Datasets;

/// <summary>The <c>dataset.json</c> beside a dataset folder's manifest: what version it is and, under
/// <see cref="TeacherGridKey"/>, the patch grid its teacher feature files are laid out on ({"rows", "columns",
/// "patchSize"}), which the trainer needs to map correspondences into them. Folders written before the key existed hold
/// DINOv2's 37 x 37 features.</summary>
public static class DatasetVersionFile
{
    public const string FileName = "dataset.json";
    public const string TeacherGridKey = "teacherGrid";

    /// <summary>Writes <paramref name="description"/> (name, version, filter, splits, counts, hash, teacher and
    /// <see cref="TeacherGridKey"/>, and what else its writer records) as <paramref name="folder"/>'s dataset.json.</summary>
    public static Task WriteAsync(string folder, object description, CancellationToken cancellationToken) =>
        File.WriteAllTextAsync(Path.Combine(folder, FileName), JsonSerializer.Serialize(description, DatasetLayout.Json), cancellationToken);

    /// <summary>The JSON value a grid is written as.</summary>
    public static object Describe(TeacherGrid grid)
    {
        ArgumentNullException.ThrowIfNull(grid);
        return new { rows = grid.Rows, columns = grid.Columns, patchSize = grid.PatchSize };
    }

    /// <summary>The teacher grid recorded in <paramref name="folder"/>'s dataset.json; null when there is no such file or
    /// it records none.</summary>
    /// <exception cref="BadInputException">The file is unreadable or its grid is malformed (the message names it).</exception>
    public static TeacherGrid? ReadTeacherGrid(string folder)
    {
        var path = Path.Combine(folder, FileName);
        if (!File.Exists(path)) return null;
        JsonNode? grid;
        try
        {
            grid = JsonNode.Parse(File.ReadAllText(path))?[TeacherGridKey];
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException)
        {
            throw new BadInputException($"{path} is not a dataset description ({e.Message}); pull the dataset version again.", e);
        }

        if (grid is null) return null;
        try
        {
            var result = new TeacherGrid((int)grid["rows"]!, (int)grid["columns"]!, (int)grid["patchSize"]!);
            if (result.Problem() is { } problem) throw new BadInputException($"{path}: {TeacherGridKey} is unusable: {problem}.");
            return result;
        }
        catch (Exception e) when (e is NullReferenceException or InvalidOperationException or FormatException)
        {
            throw new BadInputException($"{path}: {TeacherGridKey} needs integer rows, columns and patchSize, got {grid.ToJsonString()}.", e);
        }
    }

    /// <summary>Records <paramref name="grid"/> in <paramref name="folder"/>'s dataset.json (which must exist), keeping
    /// everything else; for tools that replace a folder's feature files with another teacher's.</summary>
    public static void WriteTeacherGrid(string folder, TeacherGrid grid, string teacherName)
    {
        var path = Path.Combine(folder, FileName);
        var root = JsonNode.Parse(File.ReadAllText(path))?.AsObject() ?? throw new BadInputException($"{path} is empty; write the dataset folder again.");
        root["teacher"] = teacherName;
        root[TeacherGridKey] = JsonSerializer.SerializeToNode(Describe(grid));
        File.WriteAllText(path, root.ToJsonString(new JsonSerializerOptions { WriteIndented = true }) + "\n");
    }
}
