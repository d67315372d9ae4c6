using Concerto.Ingest.Train.Optimization;

namespace Concerto.Ingest.Train.Tests.Optimization;

public sealed class MetricsCsvWriterTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "concerto-metrics-" + Guid.NewGuid().ToString("N"));

    private string CsvPath => Path.Combine(_dir, "metrics.csv");

    public void Dispose()
    {
        if (Directory.Exists(_dir)) Directory.Delete(_dir, recursive: true);
    }

    [Fact]
    public async Task Resume_AppendsWithoutASecondHeader_AndDropsRowsFromTheResumeStepOn()
    {
        var ct = CancellationToken.None;
        await using (var writer = await MetricsCsvWriter.OpenAsync(CsvPath, 0, ct))
        {
            for (var step = 0; step < 5; step++) await writer.WriteAsync(Row(step, loss: step), ct);
        }

        await using (var writer = await MetricsCsvWriter.OpenAsync(CsvPath, 3, ct))
        {
            await writer.WriteAsync(Row(3, loss: 30), ct);
            await writer.WriteAsync(Row(4, loss: 40), ct);
        }

        var lines = await File.ReadAllLinesAsync(CsvPath, ct);
        Assert.Equal("step,epoch,seconds,lr,wd,loss,points_per_s", lines[0]);
        Assert.Equal(["0", "1", "2", "3", "4"], lines.Skip(1).Select(l => l.Split(',')[0]));
        Assert.Equal("3,0,1.5,0.004,0.04,30,1000", lines[4]);
        Assert.Single(lines, l => l.StartsWith("step,", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Open_DropsATornLastLine_AndStartsFreshAtStepZero()
    {
        var ct = CancellationToken.None;
        Directory.CreateDirectory(_dir);
        await File.WriteAllTextAsync(CsvPath, "step,epoch,seconds,lr,wd,loss\n0,0,1,0.1,0.2,5\n1,0,2,0.1,0.2,4\n2,0,3,0.", ct);

        await using (var writer = await MetricsCsvWriter.OpenAsync(CsvPath, 10, ct))
        {
            Assert.Equal(["loss"], writer.ValueColumns);
        }

        Assert.Equal(["step,epoch,seconds,lr,wd,loss", "0,0,1,0.1,0.2,5", "1,0,2,0.1,0.2,4"], await File.ReadAllLinesAsync(CsvPath, ct));

        await using (var writer = await MetricsCsvWriter.OpenAsync(CsvPath, 0, ct))
        {
            await writer.WriteAsync(Row(0, loss: 1), ct);
        }

        Assert.Equal(2, (await File.ReadAllLinesAsync(CsvPath, ct)).Length);
    }

    [Fact]
    public async Task Write_AddsAColumn_WhenANewValueNameAppears()
    {
        var ct = CancellationToken.None;
        await using (var writer = await MetricsCsvWriter.OpenAsync(CsvPath, 0, ct))
        {
            await writer.WriteAsync(new TrainingMetrics(0, 0, 1, 0.1, 0.2, new Dictionary<string, double> { ["loss"] = 5 }), ct);
            await writer.WriteAsync(new TrainingMetrics(1, 0, 2, 0.1, 0.2,
                new Dictionary<string, double> { ["loss"] = 4, ["cross_modal"] = 0.25 }), ct);
            await writer.WriteAsync(new TrainingMetrics(2, 0, 3, 0.1, 0.2, new Dictionary<string, double> { ["cross_modal"] = 0.5 }), ct);
        }

        Assert.Equal(
            ["step,epoch,seconds,lr,wd,loss,cross_modal", "0,0,1,0.1,0.2,5,", "1,0,2,0.1,0.2,4,0.25", "2,0,3,0.1,0.2,,0.5"],
            await File.ReadAllLinesAsync(CsvPath, ct));
    }

    [Fact]
    public async Task Open_RefusesAFileThatIsNotAMetricsCsv()
    {
        var ct = CancellationToken.None;
        Directory.CreateDirectory(_dir);
        await File.WriteAllTextAsync(CsvPath, "a,b\n1,2\n", ct);

        await Assert.ThrowsAsync<InvalidDataException>(() => MetricsCsvWriter.OpenAsync(CsvPath, 1, ct));
        Assert.Equal("a,b\n1,2\n", await File.ReadAllTextAsync(CsvPath, ct));
    }

    private static TrainingMetrics Row(long step, double loss) => new(step, 0, 0.5 * step, 0.004, 0.04,
        new Dictionary<string, double> { ["loss"] = loss, ["points_per_s"] = 1000 });
}
