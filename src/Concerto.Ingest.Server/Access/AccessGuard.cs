using System.Net;
using System.Security.Cryptography;
using System.Text;
using Microsoft.AspNetCore.Http;

namespace Concerto.Ingest.Server.Access;

/// <summary>The first middleware of `concerto serve`, in front of every page, API route and the Hangfire dashboard:
/// local requests pass (unless configured otherwise); any other needs the configured bearer token or basic
/// credentials (401 without them), and is refused (403) while none is configured. Forwarding headers are not trusted.
/// A request is local when it comes from a loopback address and names this machine in its Host header (an IP
/// address, localhost, or the machine's host name): a browser tricked by DNS rebinding connects from loopback but
/// sends the other site's name, and must not get in as if it were local.</summary>
public sealed class AccessGuard(RequestDelegate next, ServerAccessOptions options)
{
    private static readonly string MachineName = Dns.GetHostName();

    private readonly byte[]? _token = options.HasToken ? Encoding.UTF8.GetBytes(options.Token!) : null;
    private readonly byte[]? _basic = options.HasBasic ? Encoding.UTF8.GetBytes($"{options.User}:{options.Password}") : null;

    public Task InvokeAsync(HttpContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        var remote = context.Connection.RemoteIpAddress;
        if (remote is { IsIPv4MappedToIPv6: true }) remote = remote.MapToIPv4();
        var loopback = remote is not null && IPAddress.IsLoopback(remote);
        var local = loopback && IsLocalName(context.Request.Host);
        if (local && !options.RequireCredentialsLocally) return next(context);
        if (_token is null && _basic is null)
            return Refuse(context, StatusCodes.Status403Forbidden, loopback && !local
                ? "Forbidden: this server accepts local requests only, and this one names another host in its Host header. " +
                  "Open the dashboard as http://127.0.0.1:PORT/ or http://localhost:PORT/."
                : "Forbidden: this server accepts local requests only. Set Concerto__Server__Token or Concerto__Server__User and __Password for remote access.");
        if (Authorised(context.Request.Headers.Authorization.ToString())) return next(context);
        if (_basic is not null) context.Response.Headers.WWWAuthenticate = "Basic realm=\"concerto\", charset=\"UTF-8\"";
        else context.Response.Headers.WWWAuthenticate = "Bearer";
        return Refuse(context, StatusCodes.Status401Unauthorized, "Unauthorized: send the configured bearer token or basic credentials.");
    }

    /// <summary>A Host header that names this machine: none at all (HTTP/1.0), an IP address (a browser that sends one
    /// connected to that address, not to a name an attacker's DNS controls), localhost or a *.localhost name (which
    /// browsers resolve to loopback themselves), or this machine's host name.</summary>
    private static bool IsLocalName(HostString host)
    {
        if (!host.HasValue) return true;
        var name = host.Host.TrimEnd('.');
        if (name.StartsWith('[') && name.EndsWith(']')) name = name[1..^1];
        return IPAddress.TryParse(name, out _)
               || name.Equals("localhost", StringComparison.OrdinalIgnoreCase)
               || name.EndsWith(".localhost", StringComparison.OrdinalIgnoreCase)
               || name.Equals(MachineName, StringComparison.OrdinalIgnoreCase);
    }

    private bool Authorised(string header)
    {
        if (_token is not null && header.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase))
            return CryptographicOperations.FixedTimeEquals(Encoding.UTF8.GetBytes(header[7..].Trim()), _token);
        if (_basic is not null && header.StartsWith("Basic ", StringComparison.OrdinalIgnoreCase))
        {
            var decoded = new byte[header.Length];
            return Convert.TryFromBase64String(header[6..].Trim(), decoded, out var length)
                   && CryptographicOperations.FixedTimeEquals(decoded.AsSpan(0, length), _basic);
        }

        return false;
    }

    private static Task Refuse(HttpContext context, int status, string message)
    {
        context.Response.StatusCode = status;
        context.Response.ContentType = "text/plain; charset=utf-8";
        return context.Response.WriteAsync(message);
    }
}
