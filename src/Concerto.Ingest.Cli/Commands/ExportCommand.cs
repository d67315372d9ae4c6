using System.CommandLine;
using Concerto.Ingest.Formats.PointClouds;
using Concerto.Ingest.Reconstruction.Export;
using Concerto.Ingest.Reconstruction.Pipeline;
using Concerto.Ingest.Storage.Catalog;
using Concerto.Ingest.Train.Interop;
using Spectre.Console;

namespace Concerto.Ingest.Cli.Commands;

/// <summary>`concerto export checkpoint` (an encoder as a PyTorch file in the official PT-v3m2 layout) and `concerto
/// export run` (a reconstruction for COLMAP, nerfstudio or a PLY viewer).</summary>
public static class ExportCommand
{
    public static Command Create()
    {
        var source = new Argument<string?>("source")
        {
            Description = "Run folder of `concerto train` (its latest checkpoint), a checkpoints/step-* folder, or a .pth in the official layout (rewritten).",
            Arity = ArgumentArity.ZeroOrOne,
        };
        var output = new Option<string>("--out", "-o") { Description = "The .pth file to write.", Required = true };
        var student = new Option<bool>("--student") { Description = "Export the student encoder (the default, as the official downstream configs load it)." };
        var teacher = new Option<bool>("--teacher") { Description = "Export the EMA teacher encoder instead." };
        var random = new Option<bool>("--random") { Description = "Export a randomly initialised encoder of --profile's size instead of a trained one." };
        var profile = new Option<string>("--profile", "-p") { Description = "Profile for --random (model size, patch size).", DefaultValueFactory = _ => TrainCommand.DefaultProfile };
        var seed = new Option<int>("--seed") { Description = "Seed of --random's weights.", DefaultValueFactory = _ => 1 };
        var checkpoint = new Command("checkpoint",
            "Write an encoder as {\"config\": PT-v3m2 keyword arguments, \"state_dict\": official parameter names} for torch.load, like the Sonata / Concerto release files.")
        {
            source, output, student, teacher, random, profile, seed,
        };
        checkpoint.Validators.Add(result =>
        {
            if (result.GetValue(student) && result.GetValue(teacher)) result.AddError("give at most one of --student and --teacher");
            if (result.GetValue(random) == (result.GetValue(source) is not null)) result.AddError("give a source (run folder, checkpoint or .pth) or --random, not both");
        });
        checkpoint.SetAction((parse, _) => CliRun.GuardAsync(() => Task.FromResult(ExportCheckpoint(parse.GetValue(source), parse.GetValue(output)!,
            parse.GetValue(teacher), parse.GetValue(random), parse.GetValue(profile)!, parse.GetValue(seed)))));
        var run = new Argument<long>("run") { Description = "Run id (see `concerto status`)." };
        var format = new Option<string>("--format") { Description = "colmap (text model + images), nerfstudio (transforms.json + images + PLY) or ply (the scene).", DefaultValueFactory = _ => "colmap" };
        format.AcceptOnlyFromAmong(RunFormats);
        var runOut = new Option<string>("--out", "-o") { Description = "New folder for the export.", Required = true };
        var runCommand = new Command("run", "Write a run's reconstruction for COLMAP, nerfstudio or any PLY viewer.") { run, format, runOut };
        runCommand.SetAction((parse, ct) => CliRun.GuardAsync(() => ExportRunAsync(parse.GetValue(run), parse.GetValue(format)!, parse.GetValue(runOut)!, ct)));
        return new Command("export", "Take what this program made into other tools.") { checkpoint, runCommand };
    }

    private static readonly string[] RunFormats = ["colmap", "nerfstudio", "ply"];

    /// <summary>COLMAP: images/ and the text model in sparse/0/ (COLMAP's project layout); nerfstudio: images/,
    /// transforms.json and scene.ply; ply: scene.ply. Written in a sibling folder and moved into place.</summary>
    private static async Task<int> ExportRunAsync(long runId, string format, string output, CancellationToken cancellationToken)
    {
        var target = Path.GetFullPath(output);
        if (File.Exists(target) || (Directory.Exists(target) && Directory.EnumerateFileSystemEntries(target).Any()))
            throw new IOException($"{target} already exists and is not empty; choose a new folder or remove it first.");
        await using var session = await CatalogSession.OpenAsync(cancellationToken).ConfigureAwait(false);
        var stored = await new ReconstructionIndex(session.Db).GetAsync(runId, cancellationToken).ConfigureAwait(false)
                     ?? throw new ArgumentException($"run {runId} has no reconstruction; `concerto status` shows its reconstruct stage and why.");
        var (scene, cameras) = stored;
        var sceneFolder = await session.Artifacts.LocalPathAsync(scene.ArtifactKey, cancellationToken).ConfigureAwait(false);
        var keyframes = (await new KeyframeIndex(session.Db).ListKeyframesAsync(runId, cancellationToken).ConfigureAwait(false)).ToDictionary(k => k.FrameIndex);

        var parent = Path.GetDirectoryName(target)!;
        Directory.CreateDirectory(parent);
        var staging = Path.Combine(parent, $".{Path.GetFileName(target)}.partial-{Guid.NewGuid():N}");
        try
        {
            Directory.CreateDirectory(staging);
            var exported = new List<ExportCamera>();
            if (format != "ply")
            {
                Directory.CreateDirectory(Path.Combine(staging, "images"));
                foreach (var c in cameras)
                {
                    if (!keyframes.TryGetValue(c.FrameIndex, out var keyframe))
                        throw new InvalidOperationException($"run {runId}: camera of frame {c.FrameIndex} has no keyframe image; re-run the run (concerto ingest --force).");
                    var image = await session.Artifacts.LocalPathAsync(keyframe.ArtifactKey, cancellationToken).ConfigureAwait(false);
                    var name = Path.GetFileName(image);
                    File.Copy(image, Path.Combine(staging, "images", name));
                    exported.Add(new ExportCamera(name, c.CameraToWorld, c.Fx, c.Fy, c.Cx, c.Cy, c.Width, c.Height));
                }
            }

            if (format != "colmap") File.Copy(Path.Combine(sceneFolder, CloudFiles.PlyFile), Path.Combine(staging, CloudFiles.PlyFile));
            if (format == "colmap")
            {
                var cloud = PointCloudFiles.Read(sceneFolder);
                RunExport.WriteColmap(Path.Combine(staging, "sparse", "0"), exported, cloud.Coord, cloud.Color);
            }
            else if (format == "nerfstudio")
            {
                RunExport.WriteNerfstudio(staging, exported, CloudFiles.PlyFile);
            }

            if (Directory.Exists(target)) Directory.Delete(target);
            Directory.Move(staging, target);
        }
        finally
        {
            if (Directory.Exists(staging)) Directory.Delete(staging, recursive: true);
        }

        AnsiConsole.MarkupLineInterpolated(format switch
        {
            "colmap" => $"[green]exported[/] run {runId} ({scene.Method}, {cameras.Count} cameras, {scene.Points} points) to {target}: images/ and the COLMAP text model in sparse/0 (`colmap model_analyzer --path {target}/sparse/0`)",
            "nerfstudio" => $"[green]exported[/] run {runId} ({scene.Method}, {cameras.Count} cameras) to {target}: transforms.json, images/, scene.ply (`ns-train splatfacto --data {target}`)",
            _ => $"[green]exported[/] run {runId}'s scene ({scene.Points} points with colours and normals) to {target}/scene.ply",
        });
        return 0;
    }

    private static int ExportCheckpoint(string? source, string output, bool teacher, bool random, string profilePath, int seed)
    {
        using var opened = EncoderSource.Open(random ? null : source, teacher, profilePath, seed);
        var encoder = opened.Encoder;
        PointceptCheckpoint.Export(encoder, output);
        var parameters = PointceptCheckpoint.Names(encoder.Config).Count;
        const string python = "ckpt = torch.load(path); PointTransformerV3(**ckpt[\"config\"]).load_state_dict(ckpt[\"state_dict\"])";
        AnsiConsole.MarkupLineInterpolated(
            $"[green]exported[/] the {opened.Description} to {Path.GetFullPath(output)}: {parameters} tensors, {encoder.Config.ParameterCount() / 1e6:0.00}M parameters; in Python: {python}");
        return 0;
    }
}
