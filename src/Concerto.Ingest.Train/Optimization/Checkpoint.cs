using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;
using TorchSharp;
using static TorchSharp.torch;

namespace Concerto.Ingest.Train.Optimization;

/// <summary>What a checkpoint says about its run.</summary>
/// <param name="Step">Updates completed: the resumed run continues with update <paramref name="Step"/>.</param>
/// <param name="TotalSteps">Updates in the whole run (the schedules depend on it).</param>
/// <param name="Seed">The run seed; the trainer derives its randomness from (seed, step).</param>
/// <param name="ProfileHash">Hash of the training profile, so a resume with other settings can be refused.</param>
/// <param name="DatasetName">Dataset the run trains on.</param>
/// <param name="DatasetVersion">Version of that dataset.</param>
public sealed record CheckpointMetadata(
    long Step,
    long TotalSteps,
    long Seed,
    string ProfileHash,
    string DatasetName,
    string DatasetVersion);

/// <summary>metadata.json of a checkpoint folder.</summary>
/// <param name="Modules">Names of the saved modules, each in <c>&lt;name&gt;.weights</c>.</param>
/// <param name="RngState">Whether <c>rng.state</c> holds TorchSharp's default CPU generator state.</param>
public sealed record CheckpointManifest(
    string Format,
    int Version,
    DateTimeOffset SavedAt,
    CheckpointMetadata Run,
    IReadOnlyList<string> Modules,
    bool HasOptimizer,
    bool RngState)
{
    public const string FormatName = "concerto-checkpoint";
    public const int CurrentVersion = 1;
}

/// <summary>Training checkpoints under a root folder: one folder per step, <c>step-000000001234</c>, holding each module's
/// weights (TorchSharp <c>Module.save</c> format), the optimizer state (TorchSharp <c>save_state_dict</c> format), the CPU
/// RNG state and metadata.json. A checkpoint is written to a temporary folder beside its target and renamed into place,
/// so a crash never leaves a half-written <c>step-*</c> folder; the newest <c>keep</c> are kept. One writer per root.</summary>
/// <remarks>Resume is exact when the trainer builds the same modules and parameter groups, loads weights and optimizer
/// state in place, and draws its randomness from (seed, step) or from the restored CPU generator. TorchSharp 0.107 has no
/// CUDA generator state API (only <c>torch.cuda.manual_seed</c>), so on a GPU the trainer must reseed per step.</remarks>
public static partial class Checkpoint
{
    public const string MetadataFile = "metadata.json";
    public const string OptimizerFile = "optimizer.state";
    public const string RngFile = "rng.state";
    public const string WeightsExtension = ".weights";
    private const string Prefix = "step-";
    private const string TempPrefix = ".tmp-";
    private const string OldPrefix = ".old-";

    private static readonly JsonSerializerOptions JsonOptions = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        WriteIndented = true,
        NewLine = "\n",
    };

    /// <summary>The folder name of the checkpoint after <paramref name="step"/> updates.</summary>
    public static string FolderName(long step) => Prefix + step.ToString("D12", CultureInfo.InvariantCulture);

    /// <summary>Writes a checkpoint and deletes all but the newest <paramref name="keep"/>; returns its folder.</summary>
    /// <param name="root">Folder holding the run's checkpoints (created if missing).</param>
    /// <param name="metadata">Run facts; <see cref="CheckpointMetadata.Step"/> names the folder.</param>
    /// <param name="modules">Modules by name, e.g. "student", "teacher" and any extra; names are file names.</param>
    /// <param name="optimizer">The optimizer, or null for weights only.</param>
    /// <param name="keep">How many checkpoints to keep, the newest first (default 2).</param>
    /// <param name="ct">Checked between files; a cancelled save leaves no folder behind.</param>
    public static string Save(string root, CheckpointMetadata metadata, IReadOnlyDictionary<string, nn.Module> modules,
        TrainingOptimizer? optimizer, int keep = 2, CancellationToken ct = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(root);
        ArgumentNullException.ThrowIfNull(metadata);
        ArgumentNullException.ThrowIfNull(modules);
        ArgumentOutOfRangeException.ThrowIfLessThan(keep, 1);
        ArgumentOutOfRangeException.ThrowIfNegative(metadata.Step);
        foreach (var name in modules.Keys) CheckModuleName(name);

        Directory.CreateDirectory(root);
        RemoveLeftovers(root);
        var folderName = FolderName(metadata.Step);
        var target = Path.Combine(root, folderName);
        var temp = Path.Combine(root, $"{TempPrefix}{folderName}-{Guid.NewGuid():N}");
        Directory.CreateDirectory(temp);
        try
        {
            var names = modules.Keys.Order(StringComparer.Ordinal).ToArray();
            foreach (var name in names)
            {
                ct.ThrowIfCancellationRequested();
                WriteDurably(Path.Combine(temp, name + WeightsExtension), stream =>
                {
                    using var writer = new BinaryWriter(stream, System.Text.Encoding.UTF8, leaveOpen: true);
                    modules[name].save(writer);
                    writer.Flush();
                });
            }

            ct.ThrowIfCancellationRequested();
            if (optimizer is not null) WriteDurably(Path.Combine(temp, OptimizerFile), optimizer.SaveState);
            WriteDurably(Path.Combine(temp, RngFile), stream => stream.Write(GetRngState()));
            var manifest = new CheckpointManifest(CheckpointManifest.FormatName, CheckpointManifest.CurrentVersion,
                DateTimeOffset.UtcNow, metadata, names, optimizer is not null, RngState: true);
            WriteDurably(Path.Combine(temp, MetadataFile), stream => JsonSerializer.Serialize(stream, manifest, JsonOptions));
            ct.ThrowIfCancellationRequested();

            if (Directory.Exists(target))
            {
                // Saving the same step again (a resumed run re-reaching it): swap, so the target is never absent
                // for longer than between two renames.
                var old = Path.Combine(root, $"{OldPrefix}{folderName}-{Guid.NewGuid():N}");
                Directory.Move(target, old);
                Directory.Move(temp, target);
                Directory.Delete(old, recursive: true);
            }
            else
            {
                Directory.Move(temp, target);
            }
        }
        catch
        {
            if (Directory.Exists(temp)) Directory.Delete(temp, recursive: true);
            throw;
        }

        foreach (var (_, folder) in List(root).SkipLast(keep)) Directory.Delete(folder, recursive: true);
        return target;
    }

    /// <summary>The complete checkpoints under <paramref name="root"/>, oldest first (none when it does not exist).</summary>
    public static IReadOnlyList<(long Step, string Folder)> List(string root)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(root);
        if (!Directory.Exists(root)) return [];
        return Directory.EnumerateDirectories(root, Prefix + "*")
            .Select(d => (Match: StepFolder().Match(Path.GetFileName(d)), Folder: d))
            .Where(x => x.Match.Success)
            .Select(x => (long.Parse(x.Match.Groups[1].Value, CultureInfo.InvariantCulture), x.Folder))
            .OrderBy(x => x.Item1)
            .ToArray();
    }

    /// <summary>The newest checkpoint folder under <paramref name="root"/>, or null.</summary>
    public static string? Latest(string root) => List(root) is { Count: > 0 } all ? all[^1].Folder : null;

    /// <summary>Reads a checkpoint's metadata.json.</summary>
    public static CheckpointManifest ReadManifest(string folder)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(folder);
        var path = Path.Combine(folder, MetadataFile);
        if (!File.Exists(path))
            throw new InvalidDataException($"'{folder}' is not a checkpoint: it has no {MetadataFile}. Pass a step-* folder.");
        using var stream = File.OpenRead(path);
        var manifest = JsonSerializer.Deserialize<CheckpointManifest>(stream, JsonOptions)
            ?? throw new InvalidDataException($"'{path}' is empty.");
        if (manifest.Format != CheckpointManifest.FormatName || manifest.Version != CheckpointManifest.CurrentVersion)
        {
            throw new InvalidDataException(
                $"'{path}' is format {manifest.Format} v{manifest.Version}; this build reads {CheckpointManifest.FormatName} v{CheckpointManifest.CurrentVersion}.");
        }

        return manifest;
    }

    /// <summary>Loads a checkpoint in place into modules and optimizer built the same way as those saved, and (by default)
    /// restores the CPU RNG state. Checkpoint modules not asked for are skipped.</summary>
    /// <param name="folder">A <c>step-*</c> folder (see <see cref="Latest"/>).</param>
    /// <param name="modules">Modules to fill, by the names they were saved under.</param>
    /// <param name="optimizer">Optimizer to fill, or null (evaluation).</param>
    /// <param name="restoreRngState">Restore TorchSharp's default CPU generator.</param>
    public static CheckpointMetadata Load(string folder, IReadOnlyDictionary<string, nn.Module> modules,
        TrainingOptimizer? optimizer, bool restoreRngState = true)
    {
        ArgumentNullException.ThrowIfNull(modules);
        var manifest = ReadManifest(folder);
        var missing = modules.Keys.Except(manifest.Modules, StringComparer.Ordinal).ToArray();
        if (missing.Length > 0)
        {
            throw new InvalidDataException(
                $"Checkpoint '{folder}' has no module {string.Join(", ", missing)}; it has {string.Join(", ", manifest.Modules)}.");
        }

        if (optimizer is not null && !manifest.HasOptimizer)
            throw new InvalidDataException($"Checkpoint '{folder}' holds no optimizer state; it cannot resume training.");

        foreach (var (name, module) in modules)
        {
            using var stream = File.OpenRead(Path.Combine(folder, name + WeightsExtension));
            using var reader = new BinaryReader(stream);
            module.load(reader, strict: true);
        }

        if (optimizer is not null)
        {
            using var stream = File.OpenRead(Path.Combine(folder, OptimizerFile));
            optimizer.LoadState(stream);
        }

        if (restoreRngState && manifest.RngState) SetRngState(File.ReadAllBytes(Path.Combine(folder, RngFile)));
        return manifest.Run;
    }

    /// <summary>TorchSharp's default CPU generator state (<c>torch.get_rng_state()</c>) as bytes.</summary>
    public static byte[] GetRngState()
    {
        using var state = get_rng_state();
        return state.data<byte>().ToArray();
    }

    /// <summary>Restores a state from <see cref="GetRngState"/> (<c>torch.set_rng_state</c>).</summary>
    public static void SetRngState(byte[] state)
    {
        ArgumentNullException.ThrowIfNull(state);
        using var tensor = torch.tensor(state, dtype: ScalarType.Byte);
        set_rng_state(tensor);
    }

    private static void WriteDurably(string path, Action<Stream> write)
    {
        using var stream = new FileStream(path, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 20);
        write(stream);
        stream.Flush(flushToDisk: true);
    }

    private static void CheckModuleName(string name)
    {
        if (!ModuleName().IsMatch(name))
            throw new ArgumentException($"Module name '{name}' must be letters, digits, '_' or '-' (it names a file).", nameof(name));
    }

    /// <summary>Temporary and swapped-out folders left by a crash mid-save.</summary>
    private static void RemoveLeftovers(string root)
    {
        foreach (var dir in Directory.EnumerateDirectories(root)
                     .Where(d => Path.GetFileName(d) is var n && (n.StartsWith(TempPrefix, StringComparison.Ordinal)
                         || n.StartsWith(OldPrefix, StringComparison.Ordinal))))
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [GeneratedRegex(@"^step-(\d{12})$")]
    private static partial Regex StepFolder();

    [GeneratedRegex(@"^[A-Za-z0-9_-]+$")]
    private static partial Regex ModuleName();
}
