using System.Net;
using Microsoft.AspNetCore.Http;

namespace Concerto.Ingest.Server.Tests;

public class LocalOnlyMiddlewareTests
{
    [Theory]
    [InlineData("127.0.0.1", 200)]
    [InlineData("::1", 200)]
    [InlineData("10.1.2.3", 403)]
    [InlineData("192.168.0.7", 403)]
    [InlineData("2001:db8::1", 403)]
    public async Task InvokeAsync_AllowsOnlyLoopback(string remote, int expected)
    {
        var reached = false;
        var middleware = new LocalOnlyMiddleware(_ =>
        {
            reached = true;
            return Task.CompletedTask;
        });
        var context = new DefaultHttpContext { Connection = { RemoteIpAddress = IPAddress.Parse(remote) } };
        context.Response.StatusCode = 200;

        await middleware.InvokeAsync(context);

        Assert.Equal(expected, context.Response.StatusCode);
        Assert.Equal(expected == 200, reached);
    }
}
