using System.CommandLine;
using System.Globalization;
using Concerto.Ingest.Core.Datasets;
using Concerto.Ingest.Formats.Datasets;
using Concerto.Ingest.Formats.Manifests;
using Concerto.Ingest.Jobs.Datasets;
using Concerto.Ingest.Storage.Catalog;
using Spectre.Console;

namespace Concerto.Ingest.Cli.Commands;

/// <summary>`concerto dataset create|list|show|fields|export|pull`: immutable dataset versions curated from the indexed
/// segments, and their manifests and Pointcept folders.</summary>
public static class DatasetCommand
{
    private static readonly string[] Formats = ["parquet", "jsonl", "pointcept"];

    public static Command Create()
    {
        var name = new Argument<string>("name") { Description = "Dataset name (letters, digits, '_', '-', '.')." };
        var version = new Option<int?>("--version") { Description = "Version (default: the latest)." };

        var filter = new Option<string?>("--filter", "-f") { Description = "Which segments, e.g. \"points >= 20000 and coverage > 0.5\" (see `concerto dataset fields`); default all." };
        var split = new Option<string>("--split", "-s") { Description = "Splits and their shares.", DefaultValueFactory = _ => "train=0.9,val=0.1" };
        var seed = new Option<int>("--seed") { Description = "Seed of the split hash.", DefaultValueFactory = _ => 0 };
        var teacher = new Option<string?>("--teacher") { Description = "Image teacher whose features to list (identity or prefix, or none); default: the one with features for the most members." };
        var create = new Command("create", "Create the next version of a dataset from the segments a filter selects.") { name, filter, split, seed, teacher };
        create.SetAction((parse, ct) => CliRun.GuardAsync(() => CreateAsync(parse.GetValue(name)!, parse.GetValue(filter), parse.GetValue(split)!,
            parse.GetValue(seed), parse.GetValue(teacher), ct)));

        var listJson = CliOutput.JsonOption();
        var list = new Command("list", "List dataset versions.") { listJson };
        list.SetAction((parse, ct) => CliRun.GuardAsync(() => ListAsync(parse.GetValue(listJson), ct)));

        var showJson = CliOutput.JsonOption();
        var show = new Command("show", "Show a dataset version: filter, splits, counts and segment statistics.") { name, version, showJson };
        show.SetAction((parse, ct) => CliRun.GuardAsync(() => ShowAsync(parse.GetValue(name)!, parse.GetValue(version), parse.GetValue(showJson), ct)));

        var fields = new Command("fields", "List the fields a --filter may use.");
        fields.SetAction(_ => Fields());

        var format = new Option<string>("--format") { Description = "parquet, jsonl or pointcept.", DefaultValueFactory = _ => "parquet" };
        format.AcceptOnlyFromAmong(Formats);
        var output = new Option<string?>("--out", "-o") { Description = "Output file (parquet, jsonl; jsonl defaults to stdout) or new folder (pointcept)." };
        var prefix = new Option<string?>("--path-prefix")
        {
            Description = "Prefix of the paths in splits/*.json, where the folder will sit in a Pointcept checkout (default data/<dataset name>; \"\" for paths relative to the folder).",
        };
        var absolute = new Option<bool>("--absolute-paths") { Description = "Absolute paths in splits/*.json instead of a prefix." };
        var splitFiles = new Option<bool>("--split-files")
        {
            Description = "With --format parquet: one file per split, --out FOLDER/data/<split>-00000-of-00001.parquet (the Hugging Face datasets layout).",
        };
        var export = new Command("export", "Write a version's manifest (one row per segment) or its Pointcept layout.") { name, version, format, output, prefix, absolute, splitFiles };
        export.SetAction((parse, ct) => CliRun.GuardAsync(() => ExportAsync(parse.GetValue(name)!, parse.GetValue(version), parse.GetValue(format)!,
            parse.GetValue(output), new SplitPaths(parse.GetValue(prefix), parse.GetValue(absolute)), parse.GetValue(splitFiles), ct)));

        var folder = new Option<string>("--out", "-o") { Description = "New folder for the version.", Required = true };
        var pull = new Command("pull", "Materialise a version for a trainer: the Pointcept layout plus manifest.parquet and dataset.json.")
        {
            name, version, folder, prefix, absolute,
        };
        pull.SetAction((parse, ct) => CliRun.GuardAsync(() => PullAsync(parse.GetValue(name)!, parse.GetValue(version), parse.GetValue(folder)!,
            new SplitPaths(parse.GetValue(prefix), parse.GetValue(absolute)), ct)));

        return new Command("dataset", "Curate immutable dataset versions and export them.") { create, list, show, fields, export, pull };
    }

    private static async Task<int> CreateAsync(string name, string? filter, string splitText, int seed, string? teacher, CancellationToken cancellationToken)
    {
        var splits = DatasetSplits.Parse(splitText);
        DatasetCatalog.ParseFilter(filter); // a bad filter fails here, before the database is touched
        await using var session = await CatalogSession.OpenAsync(cancellationToken).ConfigureAwait(false);
        var created = await session.Catalog.CreateAsync(name, filter, splits, seed, cancellationToken, teacher).ConfigureAwait(false);
        AnsiConsole.MarkupLineInterpolated($"[green]created {created.Label}[/]: {created.Segments} segments ({Counts(created)}), teacher features: {created.Teacher?[..12] ?? "none"}");
        return 0;
    }

    private static async Task<int> ListAsync(bool json, CancellationToken cancellationToken)
    {
        if (json) CliOutput.DataToStdout();
        await using var session = await CatalogSession.OpenAsync(cancellationToken).ConfigureAwait(false);
        var versions = await session.Catalog.ListAsync(cancellationToken).ConfigureAwait(false);
        if (json)
        {
            CliOutput.WriteJson(versions.Select(v => new { v.Name, v.Version, label = v.Label, v.Segments, v.Counts, v.Splits, v.Seed, v.Filter, v.Hash, v.Teacher, v.CreatedAt }));
            return 0;
        }

        if (versions.Count == 0)
        {
            AnsiConsole.MarkupLine("No datasets yet; `concerto dataset create NAME --filter \"...\"` makes one.");
            return 0;
        }

        var table = new Table().Border(TableBorder.Simple).AddColumns("dataset", "segments", "splits", "filter", "created");
        foreach (var v in versions)
            table.AddRow(Markup.Escape(v.Label), v.Segments.ToString(CultureInfo.InvariantCulture), Markup.Escape(Counts(v)), Markup.Escape(v.Filter ?? "(all)"),
                v.CreatedAt.ToLocalTime().ToString("yyyy-MM-dd HH:mm", CultureInfo.InvariantCulture));
        AnsiConsole.Write(table);
        return 0;
    }

    private static async Task<int> ShowAsync(string name, int? version, bool json, CancellationToken cancellationToken)
    {
        if (json) CliOutput.DataToStdout();
        await using var session = await CatalogSession.OpenAsync(cancellationToken).ConfigureAwait(false);
        var v = await session.Catalog.GetAsync(name, version, cancellationToken).ConfigureAwait(false);
        var members = await session.Catalog.MembersAsync(v.Id, cancellationToken).ConfigureAwait(false);
        if (json)
        {
            object? Summary(IEnumerable<double> values)
            {
                var sorted = values.Order().ToArray();
                return sorted.Length == 0 ? null : new { min = sorted[0], median = sorted[sorted.Length / 2], max = sorted[^1] };
            }

            CliOutput.WriteJson(new
            {
                v.Name, v.Version, label = v.Label, v.Filter, v.Splits, v.Seed, v.Segments, v.Counts, v.Hash, v.Teacher, v.CreatedAt,
                runs = members.Select(m => m.RunId).Distinct().Count(),
                labelled = members.Count(m => m.Labelled),
                withFeatures = members.Count(m => m.FeatureKeys.All(k => k is not null)),
                points = Summary(members.Select(m => (double)m.Points)),
                correspondences = Summary(members.Select(m => (double)m.Correspondences)),
                coverage = Summary(members.Select(m => (double)m.MeanCoverage)),
                covisibility = Summary(members.Select(m => (double)m.MinCovisibility)),
            });
            return 0;
        }

        var table = new Table().Border(TableBorder.Simple).AddColumns("", v.Label);
        table.AddRow("filter", Markup.Escape(v.Filter ?? "(all)"));
        table.AddRow("splits", Markup.Escape($"{DatasetSplits.Format(v.Splits)} (seed {v.Seed})"));
        table.AddRow("segments", Markup.Escape($"{v.Segments} ({Counts(v)})"));
        table.AddRow("runs", members.Select(m => m.RunId).Distinct().Count().ToString(CultureInfo.InvariantCulture));
        table.AddRow("labelled", members.Count(m => m.Labelled).ToString(CultureInfo.InvariantCulture));
        if (members.Count > 0)
        {
            table.AddRow("points", Stats(members.Select(m => (double)m.Points), "0"));
            table.AddRow("correspondences", Stats(members.Select(m => (double)m.Correspondences), "0"));
            table.AddRow("coverage", Stats(members.Select(m => m.MeanCoverage), "0.00"));
            table.AddRow("covisibility", Stats(members.Select(m => m.MinCovisibility), "0.00"));
        }

        table.AddRow("hash", v.Hash);
        table.AddRow("teacher", v.Teacher ?? "none");
        table.AddRow("with features", members.Count(m => m.FeatureKeys.All(k => k is not null)).ToString(CultureInfo.InvariantCulture));
        table.AddRow("created", v.CreatedAt.ToLocalTime().ToString("yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture));
        AnsiConsole.Write(table);
        return 0;
    }

    private static Task<int> Fields()
    {
        var table = new Table().Border(TableBorder.Simple).AddColumns("field", "type", "meaning");
        foreach (var f in DatasetCatalog.Schema.Fields)
            table.AddRow(f.Name, f.Type.ToString().ToLowerInvariant(), Markup.Escape(f.Description ?? ""));
        AnsiConsole.Write(table);
        AnsiConsole.MarkupLine("Operators: = != < <= > >= in (...) between .. and .. like 'pat%' is [not] null; combine with and, or, not, ( ).");
        return Task.FromResult(0);
    }

    private static async Task<int> ExportAsync(string name, int? version, string format, string? output, SplitPaths splitPaths, bool splitFiles,
        CancellationToken cancellationToken)
    {
        if (splitFiles && (format != "parquet" || output is null))
            throw new ArgumentException("--split-files writes Parquet files into a folder: use it with --format parquet --out FOLDER");
        if (output is null && format == "jsonl") CliOutput.DataToStdout(); // the manifest is the only thing on stdout
        await using var session = await CatalogSession.OpenAsync(cancellationToken).ConfigureAwait(false);
        var v = await session.Catalog.GetAsync(name, version, cancellationToken).ConfigureAwait(false);
        if (format == "pointcept")
        {
            if (output is null) throw new ArgumentException("--out FOLDER is required for --format pointcept");
            var result = await session.Exporter.WriteFolderAsync(v, output, withManifest: false, null, cancellationToken, splitPaths).ConfigureAwait(false);
            AnsiConsole.MarkupLineInterpolated($"[green]exported {v.Label}[/] in the Pointcept layout to {result.Folder}: {result.Segments} segments, {result.Bytes / 1e6:0.0} MB; split paths start with '{splitPaths.PrefixFor(v.Name, result.Folder)}'");
            return 0;
        }

        var manifestFormat = format == "jsonl" ? ManifestFormat.Jsonl : ManifestFormat.Parquet;
        if (splitFiles)
        {
            var folder = Path.GetFullPath(output!);
            var written = new List<string>();
            foreach (var split in v.Splits.Where(s => v.Counts.GetValueOrDefault(s.Name) > 0))
            {
                var file = Path.Combine(folder, "data", $"{split.Name}-00000-of-00001.parquet");
                Directory.CreateDirectory(Path.GetDirectoryName(file)!);
                await WriteAtomicallyAsync(file, stream => session.Exporter.WriteManifestAsync(v, ManifestFormat.Parquet, stream, cancellationToken, split.Name)).ConfigureAwait(false);
                written.Add($"{split.Name} ({v.Counts[split.Name]})");
            }

            AnsiConsole.MarkupLineInterpolated($"[green]exported {v.Label}[/] as one Parquet file per split to {folder}/data: {string.Join(", ", written)}");
            return 0;
        }

        if (output is null)
        {
            if (manifestFormat == ManifestFormat.Parquet) throw new ArgumentException("--out FILE is required for --format parquet");
            await using var stdout = System.Console.OpenStandardOutput();
            await session.Exporter.WriteManifestAsync(v, manifestFormat, stdout, cancellationToken).ConfigureAwait(false);
            return 0;
        }

        var target = Path.GetFullPath(output);
        await WriteAtomicallyAsync(target, stream => session.Exporter.WriteManifestAsync(v, manifestFormat, stream, cancellationToken)).ConfigureAwait(false);
        AnsiConsole.MarkupLineInterpolated($"[green]exported {v.Label}[/] ({v.Segments} segments) to {target}");
        return 0;
    }

    /// <summary>Written beside the target and renamed: a reader never sees half a manifest.</summary>
    private static async Task WriteAtomicallyAsync(string target, Func<Stream, Task> write)
    {
        var partial = target + $".partial-{Guid.NewGuid():N}";
        try
        {
            await using (var file = File.Create(partial))
                await write(file).ConfigureAwait(false);
            File.Move(partial, target, overwrite: true);
        }
        finally
        {
            File.Delete(partial);
        }
    }

    private static async Task<int> PullAsync(string name, int? version, string folder, SplitPaths splitPaths, CancellationToken cancellationToken)
    {
        await using var session = await CatalogSession.OpenAsync(cancellationToken).ConfigureAwait(false);
        var v = await session.Catalog.GetAsync(name, version, cancellationToken).ConfigureAwait(false);
        PullResult result = null!;
        await AnsiConsole.Progress().AutoClear(true).StartAsync(async progress =>
        {
            var task = progress.AddTask($"pulling {v.Label}", maxValue: Math.Max(1, v.Segments));
            result = await session.Exporter.WriteFolderAsync(v, folder, withManifest: true, new Progress<(int Done, int Total)>(p => task.Value = p.Done),
                cancellationToken, splitPaths).ConfigureAwait(false);
        }).ConfigureAwait(false);
        AnsiConsole.MarkupLineInterpolated($"[green]pulled {v.Label}[/] to {result.Folder}: {result.Segments} segments ({Counts(v)}), {result.Bytes / 1e6:0.0} MB; manifest {DatasetLayout.ManifestFile}");
        return 0;
    }

    private static string Counts(DatasetVersion v) => string.Join(", ", v.Splits.Select(s => $"{s.Name} {v.Counts.GetValueOrDefault(s.Name)}"));

    private static string Stats(IEnumerable<double> values, string format)
    {
        var sorted = values.Order().ToArray();
        return Markup.Escape($"min {sorted[0].ToString(format, CultureInfo.InvariantCulture)}, median {sorted[sorted.Length / 2].ToString(format, CultureInfo.InvariantCulture)}, max {sorted[^1].ToString(format, CultureInfo.InvariantCulture)}");
    }
}
