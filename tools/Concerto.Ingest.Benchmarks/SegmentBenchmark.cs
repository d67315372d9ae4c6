using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using System.Text.RegularExpressions;
using Concerto.Ingest.Cli;
using Concerto.Ingest.Core.Geometry;
using Concerto.Ingest.Core.Profiles;
using Concerto.Ingest.Formats.Arrays;
using Concerto.Ingest.Segments.Building;
using Concerto.Ingest.Segments.Pipeline;
using Concerto.Ingest.Segments.Scenes;
using Concerto.Ingest.Storage;
using Concerto.Ingest.Storage.Catalog;
using Concerto.Ingest.Storage.Postgres;
using Concerto.Ingest.Jobs.Stages;
using Concerto.Ingest.Synthetic.Capture;
using Concerto.Ingest.Synthetic.Scenes;
using K4os.Compression.LZ4;
using Npgsql;
using NpgsqlTypes;
using Spectre.Console;

namespace Concerto.Ingest.Benchmarks;

/// <summary>`concerto bench segment`: the segment stage's three costs on an in-process synthetic room (ground-truth surface
/// samples voxelised at 2 cm as the scene cloud, keyframes along its camera path, placeholder keyframe images of JPEG
/// size). 1: SceneSegmenter.Run as point-view projections per second, of the visibility pass and of the whole run
/// (visibility, group selection, building, files). 2: indexing, SegmentIndex.CopyAsync of N segment rows (+ their image
/// rows, cycled from step 1's segments) against psql's own \copy of the same data as binary COPY files, both into the
/// real schema of a scratch database on the project's server, dropped at the end. 3: step 1's correspondence arrays
/// stored as npy files (page cache, no fsync) against lz4-packed bytea (as is, and byte-shuffled) written by binary COPY
/// to a temp table and read back.</summary>
public static partial class SegmentBenchmark
{
    private const double Voxel = 0.02;
    private const double Mb = 1e6;

    public static Command Create()
    {
        var points = new Option<int>("--points") { Description = "Surface samples drawn before 2 cm voxelisation (the cloud is smaller).", DefaultValueFactory = _ => 1_500_000 };
        var views = new Option<int>("--views") { Description = "Keyframes in the scene.", DefaultValueFactory = _ => 64 };
        var interval = new Option<double>("--interval") { Description = "Seconds of camera walk between keyframes.", DefaultValueFactory = _ => 0.75 };
        var width = new Option<int>("--width") { Description = "Keyframe width.", DefaultValueFactory = _ => 640 };
        var height = new Option<int>("--height") { Description = "Keyframe height.", DefaultValueFactory = _ => 360 };
        var seed = new Option<int>("--seed") { Description = "Synthetic scene seed.", DefaultValueFactory = _ => 2 };
        var segments = new Option<int>("--segments") { Description = "Segment rows to index (each with its image rows).", DefaultValueFactory = _ => 20_000 };
        var level = new Option<int>("--lz4-level") { Description = "LZ4 level: 0 fast, 3-9 HC, 10-12 opt.", DefaultValueFactory = _ => 0 };
        var repeat = new Option<int>("--repeat") { Description = "Timed repetitions of each measurement; the best counts.", DefaultValueFactory = _ => 3 };
        var command = new Command("segment", "Segment stage: correspondence throughput, indexing vs psql COPY, npy vs lz4 bytea.")
        {
            points, views, interval, width, height, seed, segments, level, repeat,
        };
        command.SetAction((parse, ct) => CliRun.GuardAsync(() => RunAsync(new Options(parse.GetValue(points), parse.GetValue(views),
            parse.GetValue(interval), parse.GetValue(width), parse.GetValue(height), parse.GetValue(seed), parse.GetValue(segments),
            parse.GetValue(level), parse.GetValue(repeat)), ct)));
        return command;
    }

    private sealed record Options(int Points, int Views, double Interval, int Width, int Height, int Seed, int Segments, int Lz4Level, int Repeat);

    private static async Task<int> RunAsync(Options o, CancellationToken cancellationToken)
    {
        if (o.Points < 1000 || o.Views < 2 || !(o.Interval > 0) || o.Width < 16 || o.Height < 16 || o.Segments < 1 || o.Repeat < 1
            || o.Lz4Level is < 0 or > 12)
            throw new ArgumentException("need --points >= 1000, --views >= 2, --interval > 0, --width/--height >= 16, --segments >= 1, " +
                                        "--repeat >= 1, 0 <= --lz4-level <= 12.");
        var scratch = Directory.CreateTempSubdirectory("concerto-bench-segment-");
        try
        {
            var segmented = await AnsiConsole.Status().StartAsync("segmenting the synthetic scene",
                _ => Task.Run(() => Segment(o, scratch.FullName, cancellationToken), cancellationToken)).ConfigureAwait(false);
            AnsiConsole.Write(segmented.Report);
            AnsiConsole.WriteLine();
            if (segmented.Segments.Count == 0)
                throw new InvalidOperationException("The synthetic scene gave no segments: raise --views or --points, or try another --seed.");

            var env = new CliEnvironment();
            using var loggers = CliRun.CreateLoggers(verbose: false);
            var connectionString = await env.ConnectAsync(loggers, cancellationToken).ConfigureAwait(false);
            var scratchDb = "concerto_bench_" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(4));
            try
            {
                await AdminAsync(connectionString, $"CREATE DATABASE {scratchDb}", cancellationToken).ConfigureAwait(false);
            }
            catch (PostgresException e) when (e.SqlState == PostgresErrorCodes.InsufficientPrivilege)
            {
                throw new InvalidOperationException("bench segment indexes into a scratch database it creates and drops, and the configured " +
                                                    $"database user may not create databases ({e.MessageText}): grant it CREATEDB or use the embedded cluster.", e);
            }

            try
            {
                var scratchCs = new NpgsqlConnectionStringBuilder(connectionString) { Database = scratchDb }.ConnectionString;
                await ConcertoDatabase.MigrateAsync(scratchCs, loggers, cancellationToken).ConfigureAwait(false);
                await using var db = NpgsqlDataSource.Create(scratchCs);
                await IndexAsync(db, scratchCs, env.Storage.PostgresBinDirectory, segmented, o, scratch.FullName, cancellationToken).ConfigureAwait(false);
                AnsiConsole.WriteLine();
                await StorageAsync(db, segmented, o, scratch.FullName, cancellationToken).ConfigureAwait(false);
            }
            finally
            {
                await AdminAsync(connectionString, $"DROP DATABASE IF EXISTS {scratchDb} WITH (FORCE)", CancellationToken.None).ConfigureAwait(false);
            }

            return 0;
        }
        finally
        {
            scratch.Delete(recursive: true);
        }
    }

    // ---- 1. Correspondence building -------------------------------------------------------------------------------

    private sealed record Segmented(IReadOnlyList<Segment> Segments, Table Report);

    private static Segmented Segment(Options o, string scratch, CancellationToken cancellationToken)
    {
        var clock = Stopwatch.StartNew();
        var scene = SceneGenerator.Generate(o.Seed);
        var cloud = VoxelCloud(GroundTruthCloud.Sample(scene, o.Points, o.Seed));
        var path = new CameraPath(scene, o.Seed);
        var intrinsics = PinholeIntrinsics.FromHorizontalFov(o.Width, o.Height, 70);
        var keyframes = Directory.CreateDirectory(Path.Combine(scratch, "keyframes")).FullName;
        var placeholder = new byte[o.Width * o.Height / 4]; // about a 90-quality JPEG
        new Random(o.Seed).NextBytes(placeholder);
        var views = new List<SceneView>(o.Views);
        for (var k = 0; k < o.Views; k++)
        {
            var time = o.Interval * k;
            var image = Path.Combine(keyframes, k.ToString(CultureInfo.InvariantCulture) + ".jpg");
            File.WriteAllBytes(image, placeholder);
            views.Add(new SceneView((int)Math.Round(time * 30), time, path.PoseAt(time), intrinsics, image));
        }

        var setup = clock.Elapsed;
        SegmentationResult? result = null;
        TimeSpan bestVisibility = TimeSpan.MaxValue, bestRun = TimeSpan.MaxValue;
        long written = 0;
        for (var pass = 0; pass < o.Repeat; pass++)
        {
            var output = Path.Combine(scratch, $"segments-{pass}");
            clock.Restart();
            result = SceneSegmenter.Run(cloud, views, SegmentSettings.Default, Voxel, labels: null, output, progress: null, cancellationToken);
            var wall = clock.Elapsed;
            bestRun = wall < bestRun ? wall : bestRun;
            bestVisibility = result.VisibilityTime < bestVisibility ? result.VisibilityTime : bestVisibility;
            written = new DirectoryInfo(output).EnumerateFiles("*", SearchOption.AllDirectories).Sum(f => f.Length);
            Directory.Delete(output, recursive: true);
        }

        var r = result!;
        var correspondences = r.Segments.Sum(s => s.Images.Sum(i => (long)i.Rows));
        var table = NewTable("1. correspondence building: SceneSegmenter.Run",
            $"best of {o.Repeat}; visibility runs one view per core ({Environment.ProcessorCount} here)");
        table.AddRow("cloud", $"{cloud.Count:N0} points ({o.Points:N0} samples, 2 cm voxels)");
        table.AddRow("scene set-up (untimed)", $"{setup.TotalSeconds:0.00} s, seed {o.Seed}");
        table.AddRow("views", $"{views.Count} at {o.Width}x{o.Height}, one per {o.Interval:0.##} s of walk");
        table.AddRow("projections", $"{r.Projections:N0} (points x views)");
        table.AddRow("visibility pass", $"{bestVisibility.TotalSeconds:0.000} s = [bold]{r.Projections / bestVisibility.TotalSeconds / 1e6:0.00} M projections/s[/]");
        table.AddRow("whole run", $"{bestRun.TotalSeconds:0.000} s = [bold]{r.Projections / bestRun.TotalSeconds / 1e6:0.00} M projections/s[/]");
        table.AddRow("  groups, building, files", $"{(bestRun - bestVisibility).TotalSeconds:0.000} s");
        table.AddRow("segments", $"{r.Segments.Count}, {r.Segments.Sum(s => s.Images.Count)} images, mean {(r.Segments.Count == 0 ? 0 : r.Segments.Average(s => s.Points)):N0} points");
        table.AddRow("correspondences", $"{correspondences:N0} rows");
        table.AddRow("files written", $"{written / Mb:0.0} MB per run");
        return new Segmented(r.Segments, table);
    }

    /// <summary>At most one point per voxel, the first sample to land in it (like a fused cloud; no labels, like the stage's
    /// reconstructed scenes).</summary>
    private static SceneCloud VoxelCloud(GroundTruthCloud dense)
    {
        var seen = new HashSet<(long, long, long)>();
        var kept = new List<int>();
        for (var i = 0; i < dense.Count; i++)
        {
            var p = dense.Point(i);
            if (seen.Add(((long)Math.Floor(p.X / Voxel), (long)Math.Floor(p.Y / Voxel), (long)Math.Floor(p.Z / Voxel)))) kept.Add(i);
        }

        var (coord, color, normal) = (new float[3 * kept.Count], new byte[3 * kept.Count], new float[3 * kept.Count]);
        for (var j = 0; j < kept.Count; j++)
        for (var a = 0; a < 3; a++)
        {
            coord[3 * j + a] = dense.Coord[3 * kept[j] + a];
            color[3 * j + a] = dense.Color[3 * kept[j] + a];
            normal[3 * j + a] = dense.Normal[3 * kept[j] + a];
        }

        return new SceneCloud(coord, color, normal);
    }

    // ---- 2. Indexing: our binary COPY vs psql's -------------------------------------------------------------------

    private static async Task IndexAsync(NpgsqlDataSource db, string connectionString, string? binDirectory, Segmented segmented, Options o,
        string scratch, CancellationToken cancellationToken)
    {
        var runId = await ScratchRunAsync(db, o, cancellationToken).ConfigureAwait(false);
        var rows = Rows(segmented.Segments, o.Segments);
        var imageRows = rows.Sum(r => r.Images.Count);
        var totalRows = rows.Count + imageRows;
        const string stageKey = "runs/1/segment/20260101T000000-bench";

        // Pass 0 warms up (JIT), as in a long-running worker; psql, native, needs none.
        var ours = TimeSpan.MaxValue;
        for (var pass = 0; pass <= o.Repeat; pass++)
        {
            await EmptyAsync(db, cancellationToken).ConfigureAwait(false);
            await using var connection = await db.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
            var clock = Stopwatch.StartNew();
            await using (var tx = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false))
            {
                await SegmentIndex.CopyAsync(connection, tx, runId, stageKey, rows, cancellationToken).ConfigureAwait(false);
                await tx.CommitAsync(cancellationToken).ConfigureAwait(false);
            }

            if (pass > 0 && clock.Elapsed < ours) ours = clock.Elapsed;
        }

        // The same rows as psql loads them: binary COPY files exported from what CopyAsync wrote.
        var segmentFile = Path.Combine(scratch, "segments.copy");
        var imageFile = Path.Combine(scratch, "segment_images.copy");
        await ExportAsync(db, $"COPY segments ({SegmentIndex.SegmentColumns}) TO STDOUT (FORMAT BINARY)", segmentFile, cancellationToken).ConfigureAwait(false);
        await ExportAsync(db, $"COPY segment_images ({SegmentIndex.ImageColumns}) TO STDOUT (FORMAT BINARY)", imageFile, cancellationToken).ConfigureAwait(false);
        var bytes = new FileInfo(segmentFile).Length + new FileInfo(imageFile).Length;

        var psql = EmbeddedPostgres.FindProgram("psql", binDirectory);
        var table = NewTable("2. indexing: SegmentIndex.CopyAsync vs psql \\copy",
            $"best of {o.Repeat} (ours after a warm-up pass); both into the real schema (keys, indexes, foreign keys) of a scratch database" +
            (psql is null ? "" : $"; {psql} -1 from binary COPY files"));
        table.AddRow("rows", $"{rows.Count:N0} segments + {imageRows:N0} images = {totalRows:N0}");
        table.AddRow("as binary COPY", $"{bytes / Mb:0.0} MB");
        table.AddRow("ours: CopyAsync + COMMIT", Throughput(ours, totalRows, bytes, bold: true));
        if (psql is null)
        {
            table.AddRow("psql", "[yellow]not found beside the PostgreSQL server binaries or on PATH: no comparison[/]");
            AnsiConsole.Write(table);
            return;
        }

        TimeSpan bestWall = TimeSpan.MaxValue, bestCopy = TimeSpan.MaxValue;
        try
        {
            for (var pass = 0; pass < o.Repeat; pass++)
            {
                await EmptyAsync(db, cancellationToken).ConfigureAwait(false);
                var (wall, copy) = await PsqlLoadAsync(psql, connectionString, segmentFile, imageFile, cancellationToken).ConfigureAwait(false);
                bestWall = wall < bestWall ? wall : bestWall;
                bestCopy = copy < bestCopy ? copy : bestCopy;
            }

            var loaded = await CountAsync(db, "SELECT (SELECT count(*) FROM segments) + (SELECT count(*) FROM segment_images)", cancellationToken)
                .ConfigureAwait(false);
            if (loaded != totalRows) throw new InvalidOperationException($"psql loaded {loaded} rows, expected {totalRows}");
        }
        catch (Exception e) when (e is InvalidOperationException or System.ComponentModel.Win32Exception)
        {
            table.AddRow("psql", $"[red]failed:[/] {Markup.Escape(e.Message)}");
            AnsiConsole.Write(table);
            return;
        }

        table.AddRow("psql process (incl. connect)", Throughput(bestWall, totalRows, bytes, bold: false));
        table.AddRow("psql \\copy alone (\\timing)", Throughput(bestCopy, totalRows, bytes, bold: false));
        table.AddRow("[bold]ratio ours / psql[/]", $"[bold]{bestWall / ours:0.00}x[/] (process), [bold]{bestCopy / ours:0.00}x[/] (\\copy alone)");
        AnsiConsole.Write(table);
    }

    /// <summary>N rows like the stage's, cycled from the scene's segments, with unique keys.</summary>
    private static List<SegmentRow> Rows(IReadOnlyList<Segment> segments, int count)
    {
        var prefix = $"{Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(8))}-{Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(4))}";
        var rows = new List<SegmentRow>(count);
        for (var i = 0; i < count; i++)
        {
            rows.Add(SegmentRows.From(segments[i % segments.Count], i, $"{prefix}-{i:D5}",
                $"runs/1/segment/20260101T000000-bench/{SegmentationResult.FolderName(i)}", labelled: false));
        }

        return rows;
    }

    private static async Task<long> ScratchRunAsync(NpgsqlDataSource db, Options o, CancellationToken cancellationToken)
    {
        await using var connection = await db.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await ExecuteAsync(connection, "INSERT INTO profiles (hash, name, version, body) VALUES ('bench', 'bench', 1, '{}')", cancellationToken)
            .ConfigureAwait(false);
        await ExecuteAsync(connection, $"""
            INSERT INTO videos (sha256, size_bytes, path, container, codec, width, height, rotation, frame_rate, duration_s, has_audio)
                VALUES ('\x00', 0, 'bench.mp4', 'mp4', 'h264', {o.Width}, {o.Height}, 0, 30, 0, false)
            """, cancellationToken).ConfigureAwait(false);
        return await CountAsync(connection, "INSERT INTO runs (video_id, profile_hash) SELECT id, 'bench' FROM videos RETURNING id", cancellationToken)
            .ConfigureAwait(false);
    }

    private static async Task EmptyAsync(NpgsqlDataSource db, CancellationToken cancellationToken)
    {
        await using var command = db.CreateCommand("TRUNCATE segment_images, dataset_members, segments");
        await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }

    private static async Task ExportAsync(NpgsqlDataSource db, string copySql, string file, CancellationToken cancellationToken)
    {
        await using var connection = await db.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var source = await connection.BeginRawBinaryCopyAsync(copySql, cancellationToken).ConfigureAwait(false);
        await using var target = File.Create(file);
        await source.CopyToAsync(target, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>psql loading both files in one transaction; returns its process wall time and the sum of its \timing
    /// figures for the two \copy commands.</summary>
    private static async Task<(TimeSpan Wall, TimeSpan Copy)> PsqlLoadAsync(string psql, string connectionString, string segmentFile,
        string imageFile, CancellationToken cancellationToken)
    {
        var cs = new NpgsqlConnectionStringBuilder(connectionString);
        var info = new ProcessStartInfo(psql)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var a in new[]
                 {
                     "-X", "-v", "ON_ERROR_STOP=1", "-1", "-c", @"\timing on",
                     "-c", $@"\copy segments ({SegmentIndex.SegmentColumns}) FROM '{segmentFile.Replace("'", "''", StringComparison.Ordinal)}' (FORMAT binary)",
                     "-c", $@"\copy segment_images ({SegmentIndex.ImageColumns}) FROM '{imageFile.Replace("'", "''", StringComparison.Ordinal)}' (FORMAT binary)",
                 })
            info.ArgumentList.Add(a);
        info.Environment["PGHOST"] = cs.Host;
        info.Environment["PGPORT"] = cs.Port.ToString(CultureInfo.InvariantCulture);
        info.Environment["PGUSER"] = cs.Username;
        info.Environment["PGPASSWORD"] = cs.Password;
        info.Environment["PGDATABASE"] = cs.Database;

        var clock = Stopwatch.StartNew();
        using var process = Process.Start(info) ?? throw new InvalidOperationException($"could not start {psql}");
        var stdout = process.StandardOutput.ReadToEndAsync(cancellationToken);
        var stderr = process.StandardError.ReadToEndAsync(cancellationToken);
        try
        {
            await process.WaitForExitAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw;
        }

        var wall = clock.Elapsed;
        var output = await stdout.ConfigureAwait(false);
        var errors = await stderr.ConfigureAwait(false);
        if (process.ExitCode != 0) throw new InvalidOperationException($"psql failed (exit {process.ExitCode}): {errors.Trim()}");
        var copy = TimingLine().Matches(output).Sum(m => double.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture));
        return (wall, TimeSpan.FromMilliseconds(copy));
    }

    [GeneratedRegex(@"^Time: ([0-9.]+) ms", RegexOptions.Multiline)]
    private static partial Regex TimingLine();

    /// <summary>psql beside the server binaries (as EmbeddedPostgres finds them), else on PATH.</summary>
    // ---- 3. Correspondence storage: npy files vs lz4 bytea ---------------------------------------------------------

    private static async Task StorageAsync(NpgsqlDataSource db, Segmented segmented, Options o, string scratch, CancellationToken cancellationToken)
    {
        // As the stage stores them: float32 M x 3, [[-1, -1, -1]] for an empty image.
        var arrays = segmented.Segments.SelectMany((s, j) => s.Images.Select((m, i) => (Segment: j, Slot: i, Rows: m.Rows == 0 ? new float[] { -1, -1, -1 } : m.Correspondences)))
            .ToList();
        var raw = arrays.Sum(a => 4L * a.Rows.Length);
        var level = (LZ4Level)o.Lz4Level;

        TimeSpan npyWrite = TimeSpan.MaxValue, npyRead = TimeSpan.MaxValue;
        long npyBytes = 0;
        for (var pass = 0; pass < o.Repeat; pass++)
        {
            var root = Path.Combine(scratch, "npy");
            var clock = Stopwatch.StartNew();
            foreach (var (segment, slot, rows) in arrays)
            {
                var folder = Path.Combine(root, SegmentationResult.FolderName(segment), "correspondence");
                Directory.CreateDirectory(folder);
                Npy.Write<float>(Path.Combine(folder, slot.ToString(CultureInfo.InvariantCulture) + ".npy"), rows, rows.Length / 3, 3);
            }

            npyWrite = clock.Elapsed < npyWrite ? clock.Elapsed : npyWrite;
            clock.Restart();
            long values = 0;
            foreach (var (segment, slot, _) in arrays)
                values += Npy.Read<float>(Path.Combine(root, SegmentationResult.FolderName(segment), "correspondence",
                    slot.ToString(CultureInfo.InvariantCulture) + ".npy")).Data.Length;
            npyRead = clock.Elapsed < npyRead ? clock.Elapsed : npyRead;
            if (4 * values != raw) throw new InvalidOperationException("npy read-back size differs");
            npyBytes = new DirectoryInfo(root).EnumerateFiles("*", SearchOption.AllDirectories).Sum(f => f.Length);
            Directory.Delete(root, recursive: true);
        }

        // One session: the temp table lives as long as the connection. STORAGE EXTERNAL: no pglz pass over lz4 bytes.
        await using var connection = await db.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await ExecuteAsync(connection, """
            CREATE TEMP TABLE correspondence_packed (segment int NOT NULL, slot smallint NOT NULL, data bytea NOT NULL, PRIMARY KEY (segment, slot));
            ALTER TABLE correspondence_packed ALTER COLUMN data SET STORAGE EXTERNAL
            """, cancellationToken).ConfigureAwait(false);
        var plain = await ByteaAsync(connection, arrays, o.Repeat,
            rows => LZ4Pickler.Pickle(MemoryMarshal.AsBytes(rows.AsSpan()), level),
            bytes => MemoryMarshal.Cast<byte, float>(LZ4Pickler.Unpickle(bytes)).ToArray(), cancellationToken).ConfigureAwait(false);
        var shuffled = await ByteaAsync(connection, arrays, o.Repeat,
            rows => LZ4Pickler.Pickle(Shuffle(rows), level),
            bytes => Unshuffle(LZ4Pickler.Unpickle(bytes)), cancellationToken).ConfigureAwait(false);

        var table = new Table().Border(TableBorder.Simple).Title($"3. correspondence storage: {arrays.Count} float32 M x 3 arrays, {raw / Mb:0.00} MB")
            .Caption($"best of {o.Repeat}; MB/s of raw data; npy files in the page cache (no fsync); bytea (lz4 {level}): pack, binary COPY, " +
                     "COMMIT / SELECT, unpack; table = pg_total_relation_size")
            .AddColumns("layout", "size", "table", "ratio", "write", "read");
        table.AddRow("npy files", $"{npyBytes / Mb:0.00} MB", "", $"{(double)raw / npyBytes:0.00}x",
            $"{raw / Mb / npyWrite.TotalSeconds:0} MB/s", $"{raw / Mb / npyRead.TotalSeconds:0} MB/s");
        foreach (var (name, r) in new[] { ("lz4 bytea", plain), ("lz4 bytea, shuffled", shuffled) })
            table.AddRow(name, $"{r.Packed / Mb:0.00} MB", $"{r.TableBytes / Mb:0.00} MB", $"{(double)raw / r.Packed:0.00}x",
                $"{raw / Mb / r.Write.TotalSeconds:0} MB/s", $"{raw / Mb / r.Read.TotalSeconds:0} MB/s");
        AnsiConsole.Write(table);
    }

    private sealed record ByteaResult(long Packed, long TableBytes, TimeSpan Write, TimeSpan Read);

    /// <summary>Packs every array into the temp table by binary COPY in one transaction, then reads and unpacks them all;
    /// checks the round trip.</summary>
    private static async Task<ByteaResult> ByteaAsync(NpgsqlConnection connection, List<(int Segment, int Slot, float[] Rows)> arrays, int repeat,
        Func<float[], byte[]> pack, Func<byte[], float[]> unpack, CancellationToken cancellationToken)
    {
        TimeSpan write = TimeSpan.MaxValue, read = TimeSpan.MaxValue;
        long packed = 0, tableBytes = 0;
        for (var pass = 0; pass < repeat; pass++)
        {
            await ExecuteAsync(connection, "TRUNCATE correspondence_packed", cancellationToken).ConfigureAwait(false);
            var clock = Stopwatch.StartNew();
            packed = 0;
            await using (var tx = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false))
            {
                await using (var copy = await connection.BeginBinaryImportAsync("COPY correspondence_packed (segment, slot, data) FROM STDIN (FORMAT BINARY)",
                                 cancellationToken).ConfigureAwait(false))
                {
                    foreach (var (segment, slot, rows) in arrays)
                    {
                        var bytes = pack(rows);
                        packed += bytes.Length;
                        await copy.StartRowAsync(cancellationToken).ConfigureAwait(false);
                        await copy.WriteAsync(segment, NpgsqlDbType.Integer, cancellationToken).ConfigureAwait(false);
                        await copy.WriteAsync((short)slot, NpgsqlDbType.Smallint, cancellationToken).ConfigureAwait(false);
                        await copy.WriteAsync(bytes, NpgsqlDbType.Bytea, cancellationToken).ConfigureAwait(false);
                    }

                    await copy.CompleteAsync(cancellationToken).ConfigureAwait(false);
                }

                await tx.CommitAsync(cancellationToken).ConfigureAwait(false);
            }

            write = clock.Elapsed < write ? clock.Elapsed : write;
            clock.Restart();
            var back = new Dictionary<(int, int), float[]>(arrays.Count);
            await using (var select = new NpgsqlCommand("SELECT segment, slot, data FROM correspondence_packed", connection))
            await using (var reader = await select.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false))
            {
                while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
                    back[(reader.GetInt32(0), reader.GetInt16(1))] = unpack(await reader.GetFieldValueAsync<byte[]>(2, cancellationToken).ConfigureAwait(false));
            }

            read = clock.Elapsed < read ? clock.Elapsed : read;
            if (back.Count != arrays.Count || arrays.Any(a => !back[(a.Segment, a.Slot)].AsSpan().SequenceEqual(a.Rows)))
                throw new InvalidOperationException("packed bytea read back differs from what was written");
            tableBytes = await CountAsync(connection, "SELECT pg_total_relation_size('correspondence_packed')", cancellationToken).ConfigureAwait(false);
        }

        return new ByteaResult(packed, tableBytes, write, read);
    }

    /// <summary>Column-major, then byte planes: byte b of every value of the u column, ..., of the index column, so the
    /// near-constant high bytes and the ascending indices form long runs.</summary>
    private static byte[] Shuffle(float[] rows)
    {
        var bytes = MemoryMarshal.AsBytes(rows.AsSpan());
        int n = rows.Length, m = n / 3;
        var shuffled = new byte[4 * n];
        for (var c = 0; c < 3; c++)
        for (var i = 0; i < m; i++)
        for (var b = 0; b < 4; b++)
            shuffled[b * n + c * m + i] = bytes[4 * (3 * i + c) + b];
        return shuffled;
    }

    private static float[] Unshuffle(byte[] shuffled)
    {
        int n = shuffled.Length / 4, m = n / 3;
        var rows = new float[n];
        var bytes = MemoryMarshal.AsBytes(rows.AsSpan());
        for (var c = 0; c < 3; c++)
        for (var i = 0; i < m; i++)
        for (var b = 0; b < 4; b++)
            bytes[4 * (3 * i + c) + b] = shuffled[b * n + c * m + i];
        return rows;
    }

    // ---- helpers ---------------------------------------------------------------------------------------------------

    private static Table NewTable(string title, string caption) =>
        new Table().Border(TableBorder.Simple).Title(Markup.Escape(title)).Caption(Markup.Escape(caption)).AddColumns("measure", "value");

    private static string Throughput(TimeSpan time, long rows, long bytes, bool bold)
    {
        var text = string.Create(CultureInfo.InvariantCulture,
            $"{time.TotalSeconds:0.000} s = {rows / time.TotalSeconds / 1000:N0} k rows/s, {bytes / Mb / time.TotalSeconds:0.0} MB/s");
        return bold ? $"[bold]{text}[/]" : text;
    }

    private static async Task AdminAsync(string connectionString, string sql, CancellationToken cancellationToken)
    {
        await using var connection = new NpgsqlConnection(new NpgsqlConnectionStringBuilder(connectionString) { Pooling = false }.ConnectionString);
        await connection.OpenAsync(cancellationToken).ConfigureAwait(false);
        await ExecuteAsync(connection, sql, cancellationToken).ConfigureAwait(false);
    }

    private static async Task ExecuteAsync(NpgsqlConnection connection, string sql, CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand(sql, connection);
        await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }

    private static async Task<long> CountAsync(NpgsqlDataSource db, string sql, CancellationToken cancellationToken)
    {
        await using var connection = await db.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        return await CountAsync(connection, sql, cancellationToken).ConfigureAwait(false);
    }

    private static async Task<long> CountAsync(NpgsqlConnection connection, string sql, CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand(sql, connection);
        return Convert.ToInt64(await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false), CultureInfo.InvariantCulture);
    }
}
