using Microsoft.AspNetCore.Http;

namespace Concerto.Ingest.Server.Api;

/// <summary>State-changing routes need a custom header: a page on another site can make the browser POST to a local
/// server (which lets local requests in), but cannot add headers without a CORS preflight, which this server never
/// grants.</summary>
public static class Csrf
{
    public const string Header = "X-Concerto-Request";

    public static ValueTask<object?> Filter(EndpointFilterInvocationContext context, EndpointFilterDelegate next)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(next);
        return context.HttpContext.Request.Headers.ContainsKey(Header)
            ? next(context)
            : ValueTask.FromResult<object?>(TypedResults.Problem($"send the header {Header} with this request", statusCode: StatusCodes.Status400BadRequest));
    }
}
