using System.CommandLine;
using System.Text.Json;
using Concerto.Ingest.Features.Teacher;
using Concerto.Ingest.Features.Teacher.Import;
using Concerto.Ingest.Reconstruction.Onnx;
using Microsoft.Extensions.Logging.Abstractions;
using Spectre.Console;

namespace Concerto.Ingest.Cli.Commands;

/// <summary>`concerto teacher import resnet18 --out DIR`: a patch-feature image teacher from a pretrained network that
/// a package restored by the project's own build ships (no downloads), checked in ONNX Runtime before it is reported.</summary>
public static class TeacherCommand
{
    public static Command Create()
    {
        var name = new Argument<string>("name") { Description = "The network to import: resnet18 (ImageNet ResNet-18 from Microsoft.ML.DnnImageFeaturizer.ResNet18 0.24.0)." };
        var output = new Option<string>("--out", "-o") { Description = "Folder for the model and its teacher.json.", Required = true };
        var from = new Option<string?>("--from") { Description = "The package folder, when it is not in the NuGet cache (NUGET_PACKAGES or ~/.nuget/packages)." };
        var grid = new Option<string>("--grid")
        {
            Description = "Patch grid ROWSxCOLUMNS (16 px per patch): 37x37 (592 x 592, DINOv2's layout at 518) or e.g. 45x80 (720 x 1280, Pointcept's 630 x 1120 layout).",
            DefaultValueFactory = _ => "37x37",
        };
        var import = new Command("import", "Import a pretrained image network as a patch-feature teacher (model + teacher.json).") { name, output, from, grid };
        import.SetAction((parse, _) => CliRun.GuardAsync(() =>
            Task.FromResult(Import(parse.GetValue(name)!, parse.GetValue(output)!, parse.GetValue(from), ParseGrid(parse.GetValue(grid)!)))));
        return new Command("teacher", "Image teachers for the featurize stage.") { import };
    }

    /// <summary>"45x80" as (45, 80).</summary>
    public static (int Rows, int Columns) ParseGrid(string text)
    {
        var parts = text.Split('x', 'X');
        if (parts.Length == 2 && int.TryParse(parts[0], out var rows) && int.TryParse(parts[1], out var columns) && rows > 0 && columns > 0)
            return (rows, columns);
        throw new ArgumentException($"--grid '{text}' is not ROWSxCOLUMNS (e.g. 37x37 or 45x80)");
    }

    private static int Import(string name, string output, string? from, (int Rows, int Columns) grid)
    {
        if (!name.Equals("resnet18", StringComparison.OrdinalIgnoreCase))
            throw new ArgumentException($"unknown teacher '{name}'; the one that can be imported here is resnet18");
        var package = from ?? ResNetTeacherImport.FindPackage()
            ?? throw new ArgumentException($"{ResNetTeacherImport.PackageId} {ResNetTeacherImport.PackageVersion} is not in the NuGet cache: run `dotnet restore` in the checkout (the build restores it), or pass --from with the package folder.");
        var folder = Path.GetFullPath(output);
        var description = ResNetTeacherImport.Import(package, folder, grid.Rows, grid.Columns);
        var settings = description.Featurize(folder);
        using (var model = TeacherModel.Open(settings, settings.ModelPath!, OnnxDevice.Cpu, NullLogger.Instance))
            AnsiConsole.MarkupLineInterpolated(
                $"[green]imported[/] {description.Name} into {folder}: {description.GridRows} x {description.GridColumns} patches of {model.Width} channels at {description.InputWidth} x {description.InputHeight} (stride {description.Stride}); {description.Training}; licence {description.Licence}; source sha256 {description.SourceSha256[..12]}");
        AnsiConsole.WriteLine("the profile section that featurizes with it:");
        System.Console.WriteLine(JsonSerializer.Serialize(new
        {
            featurize = new
            {
                settings.ModelPath, settings.InputName, settings.OutputName, settings.LeadingTokens, settings.ImageSize, settings.ImageHeight,
                settings.ImageWidth, settings.PatchSize, settings.Mean, settings.Std,
            },
        }, new JsonSerializerOptions
        {
            WriteIndented = true, PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
            DefaultIgnoreCondition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull,
        }));
        return 0;
    }
}
