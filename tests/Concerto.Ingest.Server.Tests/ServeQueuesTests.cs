namespace Concerto.Ingest.Server.Tests;

/// <summary>`concerto serve --queues`: the server's own Hangfire worker takes only the queues it is given (the compose
/// file's server leaves reconstruct to the GPU workers).</summary>
public sealed class ServeQueuesTests
{
    [Fact]
    public async Task Serve_WorksOnlyTheGivenQueues()
    {
        await using var served = await ServedPipeline.StartAsync(workers: 1, queues: ["probe", "decode", "segment", "featurize"]);

        string? data = null;
        for (var deadline = DateTime.UtcNow.AddSeconds(30); data is null && DateTime.UtcNow < deadline; await Task.Delay(200))
        {
            await using var command = served.Db.DataSource.CreateCommand("SELECT data FROM hangfire.server LIMIT 1");
            data = await command.ExecuteScalarAsync() as string;
        }

        Assert.NotNull(data);
        var queues = System.Text.Json.JsonDocument.Parse(data).RootElement.GetProperty("Queues").EnumerateArray().Select(q => q.GetString()).ToList();
        Assert.Equal(["probe", "decode", "segment", "featurize"], queues);
    }
}
