using System.Net;
using Microsoft.AspNetCore.Http;

namespace Concerto.Ingest.Server;

/// <summary>Refuses every request that does not come from this machine. Remote access (with credentials) is a later
/// feature; until then the server is never open to the network, whatever address it listens on.</summary>
public sealed class LocalOnlyMiddleware(RequestDelegate next)
{
    public Task InvokeAsync(HttpContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        var remote = context.Connection.RemoteIpAddress;
        if (remote is null || IPAddress.IsLoopback(remote)) return next(context);
        context.Response.StatusCode = StatusCodes.Status403Forbidden;
        return context.Response.WriteAsync("Forbidden: this server accepts local requests only.");
    }
}
