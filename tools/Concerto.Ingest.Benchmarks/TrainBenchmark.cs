using Concerto.Ingest.Cli;
using Concerto.Ingest.Core.Runtime;
using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using Concerto.Ingest.Synthetic.Scenes;
using Concerto.Ingest.Train;
using Concerto.Ingest.Train.Data;
using Concerto.Ingest.Train.Model;
using Concerto.Ingest.Train.Views;
using Spectre.Console;
using TorchSharp;
using static TorchSharp.torch;

namespace Concerto.Ingest.Benchmarks;

/// <summary>`concerto bench train`: encoder forward+backward throughput (points/s) per size on synthetic rooms, and the
/// FLOP/s achieved (counted from the levels each pass built, backward = 2 x forward) as a fraction of this machine's
/// measured fp32 matrix-multiply peak; with --leak-steps, live tensors and resident memory over that many optimizer
/// steps.</summary>
public static class TrainBenchmark
{
    public static Command Create()
    {
        var sizes = new Option<string>("--sizes") { Description = "Comma-separated model sizes.", DefaultValueFactory = _ => "tiny,small" };
        var points = new Option<int>("--points") { Description = "Grid-sampled points per sample.", DefaultValueFactory = _ => 40_000 };
        var batch = new Option<int>("--batch") { Description = "Samples per pass.", DefaultValueFactory = _ => 2 };
        var steps = new Option<int>("--steps") { Description = "Timed passes per size (after one warm-up).", DefaultValueFactory = _ => 3 };
        var patch = new Option<int>("--patch") { Description = "Attention patch size.", DefaultValueFactory = _ => 1024 };
        var leak = new Option<int>("--leak-steps") { Description = "Also run this many Tiny training steps and report live tensors and memory (0: skip).", DefaultValueFactory = _ => 0 };
        var device = new Option<string>("--device") { Description = "auto, cpu, cuda.", DefaultValueFactory = _ => "auto" };
        var command = new Command("train", "Encoder forward+backward points/s per size and FLOP/s as a share of the measured matmul peak.")
        {
            sizes, points, batch, steps, patch, leak, device,
        };
        command.SetAction((parse, _) => CliRun.GuardAsync(() => Task.FromResult(Run(parse.GetValue(sizes)!, parse.GetValue(points), parse.GetValue(batch),
            parse.GetValue(steps), parse.GetValue(patch), parse.GetValue(leak), parse.GetValue(device)!))));
        return command;
    }

    private static int Run(string sizeList, int points, int batch, int steps, int patch, int leakSteps, string deviceName)
    {
        NativeHeap.LimitRetention();
        var choice = TorchDevice.Select(deviceName);
        var device = choice.Device;
        if (choice.FallbackReason is { } reason) AnsiConsole.MarkupLineInterpolated($"[yellow]{reason}[/]");
        var clouds = Enumerable.Range(0, batch).Select(b => Room(b + 1, points)).ToArray();
        var peak = MatmulPeak(device);
        AnsiConsole.MarkupLineInterpolated($"{batch} synthetic rooms x {points} grid-sampled points on {device.type} ({Environment.ProcessorCount} cores, {get_num_threads()} torch threads); matmul peak {peak / 1e9:0.0} GFLOP/s");

        var table = new Table().Border(TableBorder.Simple).AddColumns("size", "params", "fwd+bwd s", "points/s", "GFLOP/pass", "GFLOP/s", "of peak");
        foreach (var name in sizeList.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var config = PtV3Config.Named(name) with { PatchSize = patch };
            manual_seed(1);
            using var model = new PointTransformerV3("encoder", config);
            model.to(device);
            model.train();
            double best = double.MaxValue, flops = 0;
            for (var i = 0; i <= steps; i++)
            {
                using var scope = NewDisposeScope();
                var input = Input(clouds, device);
                var clock = Stopwatch.StartNew();
                var levels = model.forward(input, new Random(i));
                PointTransformerV3.UpCast(levels, 0, levels.Count - 1).square().mean().backward();
                if (device.type == DeviceType.CUDA) cuda.synchronize();
                var seconds = clock.Elapsed.TotalSeconds;
                flops = 3 * EncoderFlops.Forward(config, levels);
                model.zero_grad();
                if (i > 0) best = Math.Min(best, seconds);
            }

            var n = clouds.Sum(c => c.Cloud.Count);
            table.AddRow(config.Name, $"{config.ParameterCount() / 1e6:0.00}M", best.ToString("0.000", CultureInfo.InvariantCulture),
                (n / best).ToString("N0", CultureInfo.InvariantCulture), (flops / 1e9).ToString("0.0", CultureInfo.InvariantCulture),
                (flops / best / 1e9).ToString("0.0", CultureInfo.InvariantCulture), $"{100 * flops / best / peak:0.0}%");
        }

        AnsiConsole.Write(table);
        if (leakSteps > 0) LeakCheck(clouds, device, patch, leakSteps);
        return 0;
    }

    /// <summary>Tiny training steps (forward, backward, AdamW) reporting live tensors and resident memory, so a leak of
    /// native memory shows as growth.</summary>
    private static void LeakCheck((PointSample Cloud, int[] Grid)[] clouds, Device device, int patch, int steps)
    {
        manual_seed(1);
        using var model = new PointTransformerV3("encoder", PtV3Config.Tiny with { PatchSize = patch });
        model.to(device);
        using var optimizer = optim.AdamW(model.parameters(), 1e-3);
        var table = new Table().Border(TableBorder.Simple).AddColumns("step", "live tensors", "resident MB");
        var marks = new HashSet<int> { 1, 10, steps / 4, steps / 2, 3 * steps / 4, steps };
        for (var step = 1; step <= steps; step++)
        {
            using (var scope = NewDisposeScope())
            {
                var levels = model.forward(Input(clouds, device), new Random(step));
                optimizer.zero_grad();
                PointTransformerV3.UpCast(levels, 0, levels.Count - 1).square().mean().backward();
                optimizer.step();
            }

            if (marks.Contains(step))
            {
                using var process = Process.GetCurrentProcess();
                table.AddRow(step.ToString(CultureInfo.InvariantCulture), Tensor.TotalCount.ToString(CultureInfo.InvariantCulture),
                    (process.WorkingSet64 / 1e6).ToString("0", CultureInfo.InvariantCulture));
            }
        }

        AnsiConsole.MarkupLine($"Leak check: {steps} Tiny training steps");
        AnsiConsole.Write(table);
    }

    /// <summary>Best of 5 square fp32 matrix products of 2048 (or 4096 on a GPU), 2 n^3 FLOPs each.</summary>
    private static double MatmulPeak(Device device)
    {
        var n = device.type == DeviceType.CUDA ? 4096 : 2048;
        using var scope = NewDisposeScope();
        var a = randn(n, n, device: device);
        var b = randn(n, n, device: device);
        var best = double.MaxValue;
        for (var i = 0; i < 6; i++)
        {
            var clock = Stopwatch.StartNew();
            using (a.matmul(b))
            {
                if (device.type == DeviceType.CUDA) cuda.synchronize();
            }

            if (i > 0) best = Math.Min(best, clock.Elapsed.TotalSeconds);
        }

        return 2.0 * n * n * n / best;
    }

    /// <summary>A synthetic room cut to about <paramref name="points"/> voxels around a centre and grid-sampled at 0.02,
    /// with its grid coordinates.</summary>
    private static (PointSample Cloud, int[] Grid) Room(int seed, int points)
    {
        var cloud = GroundTruthCloud.Sample(SceneGenerator.Generate(seed), points * 3, seed);
        var sample = new PointSample
        {
            Key = $"room{seed}", Coord = cloud.Coord, Color = cloud.Color.Select(c => (float)c).ToArray(), Normal = cloud.Normal,
            Segment = cloud.Segment, SourceIndex = Enumerable.Range(0, cloud.Count).ToArray(), Images = [],
        };
        var sampled = GridSample.First(sample, 0.02);
        var keep = NearestPoints.Select(sampled.Coord, sampled.Coord[0], sampled.Coord[1], sampled.Coord[2], Math.Min(points, sampled.Count));
        Array.Sort(keep);
        var room = PointSubset.Take(sampled, keep);
        var voxels = GridSample.FirstIndices(room.Coord, 0.02);
        return (PointSubset.Take(room, voxels), GridSample.Subset(GridSample.GridCoords(room.Coord, 0.02), voxels));
    }

    private static EncoderInput Input((PointSample Cloud, int[] Grid)[] clouds, Device device)
    {
        var coord = clouds.SelectMany(c => c.Cloud.Coord).ToArray();
        var feat = clouds.SelectMany(c => ViewFeatures.Build(c.Cloud)).ToArray();
        var grid = clouds.SelectMany(c => c.Grid).ToArray();
        var batch = clouds.SelectMany((c, i) => Enumerable.Repeat(i, c.Cloud.Count)).ToArray();
        var coords = tensor(coord, device: device).view(-1, 3);
        return new EncoderInput(tensor(feat, device: device).view(-1, 9), coords, coords, grid, batch, 0.02);
    }
}
