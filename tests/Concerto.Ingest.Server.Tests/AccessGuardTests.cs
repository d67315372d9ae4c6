using System.Net;
using System.Text;
using Concerto.Ingest.Server.Access;
using Microsoft.AspNetCore.Http;

namespace Concerto.Ingest.Server.Tests;

public class AccessGuardTests
{
    private static readonly ServerAccessOptions Open = new();
    private static readonly ServerAccessOptions WithCredentials = new() { Token = "s3cret-token", User = "ana", Password = "pa:ss" };

    [Theory]
    [InlineData("127.0.0.1", 200)]
    [InlineData("::1", 200)]
    [InlineData("::ffff:127.0.0.1", 200)]
    [InlineData("10.1.2.3", 403)]
    [InlineData("192.168.0.7", 403)]
    [InlineData("2001:db8::1", 403)]
    public async Task WithoutCredentialsConfigured_OnlyLoopbackGetsIn(string remote, int expected) =>
        Assert.Equal(expected, await StatusAsync(Open, remote, authorization: null));

    [Theory]
    [InlineData(null, 401)]
    [InlineData("Bearer s3cret-token", 200)]
    [InlineData("bearer  s3cret-token ", 200)]
    [InlineData("Bearer s3cret-tokeN", 401)]
    [InlineData("Bearer s3cret", 401)]
    [InlineData("Basic ana:pa:ss", 401)] // not base64
    [InlineData("Token s3cret-token", 401)]
    public async Task Remote_NeedsTheToken(string? authorization, int expected) =>
        Assert.Equal(expected, await StatusAsync(WithCredentials, "203.0.113.9", authorization));

    [Theory]
    [InlineData("ana:pa:ss", 200)]
    [InlineData("ana:pa:s", 401)]
    [InlineData("ana:", 401)]
    [InlineData("Ana:pa:ss", 401)]
    public async Task Remote_OrBasicCredentials(string credentials, int expected) =>
        Assert.Equal(expected, await StatusAsync(WithCredentials, "203.0.113.9", "Basic " + Convert.ToBase64String(Encoding.UTF8.GetBytes(credentials))));

    [Fact]
    public async Task Unauthorised_AsksForBasicCredentials()
    {
        var context = Request("203.0.113.9", null);
        await new AccessGuard(_ => Task.CompletedTask, WithCredentials).InvokeAsync(context);
        Assert.Equal(401, context.Response.StatusCode);
        Assert.StartsWith("Basic realm=", context.Response.Headers.WWWAuthenticate.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task BehindALocalProxy_LoopbackNeedsCredentialsToo()
    {
        var options = new ServerAccessOptions { Token = "t", RequireCredentialsLocally = true };
        Assert.Equal(401, await StatusAsync(options, "127.0.0.1", null));
        Assert.Equal(200, await StatusAsync(options, "127.0.0.1", "Bearer t"));
    }

    [Theory]
    [InlineData(null, 200)] // HTTP/1.0 without a Host header
    [InlineData("localhost", 200)]
    [InlineData("LocalHost:5080", 200)]
    [InlineData("localhost.", 200)]
    [InlineData("dash.localhost:80", 200)]
    [InlineData("127.0.0.1:5080", 200)]
    [InlineData("127.1.2.3", 200)]
    [InlineData("[::1]:5080", 200)]
    [InlineData("192.168.0.9:5080", 200)] // an address: the browser connected to it, no name was resolved
    [InlineData("attacker.example", 403)]
    [InlineData("attacker.example:5080", 403)]
    [InlineData("localhost.attacker.example", 403)]
    [InlineData("127.0.0.1.nip.io", 403)]
    [InlineData("xn--lcalhost-9za", 403)]
    public async Task Loopback_CountsAsLocal_OnlyWhenItsHostHeaderNamesThisMachine(string? host, int expected)
    {
        var context = Request("127.0.0.1", null);
        if (host is not null) context.Request.Host = new HostString(host);
        var reached = false;
        await new AccessGuard(_ =>
        {
            reached = true;
            return Task.CompletedTask;
        }, Open).InvokeAsync(context);
        Assert.Equal(expected, context.Response.StatusCode);
        Assert.Equal(expected == 200, reached);
    }

    [Fact]
    public async Task Loopback_NamingAnotherHost_IsTreatedAsRemote_NeedingCredentials()
    {
        var foreign = Request("::1", null);
        foreign.Request.Host = new HostString("attacker.example");
        await new AccessGuard(_ => Task.CompletedTask, WithCredentials).InvokeAsync(foreign);
        Assert.Equal(401, foreign.Response.StatusCode);

        var withToken = Request("::1", "Bearer s3cret-token");
        withToken.Request.Host = new HostString("attacker.example");
        await new AccessGuard(_ => Task.CompletedTask, WithCredentials).InvokeAsync(withToken);
        Assert.Equal(200, withToken.Response.StatusCode);

        var machine = Request("127.0.0.1", null);
        machine.Request.Host = new HostString(Dns.GetHostName());
        await new AccessGuard(_ => Task.CompletedTask, WithCredentials).InvokeAsync(machine);
        Assert.Equal(200, machine.Response.StatusCode);
    }

    [Fact]
    public async Task Refusal_SaysWhyTheHostHeaderKeptALoopbackRequestOut()
    {
        var context = Request("127.0.0.1", null);
        context.Request.Host = new HostString("attacker.example");
        context.Response.Body = new MemoryStream();
        await new AccessGuard(_ => Task.CompletedTask, Open).InvokeAsync(context);
        Assert.Equal(403, context.Response.StatusCode);
        Assert.Contains("Host header", Encoding.UTF8.GetString(((MemoryStream)context.Response.Body).ToArray()), StringComparison.Ordinal);
    }

    [Fact]
    public void Validate_RefusesHalfConfiguredCredentials()
    {
        Assert.Throws<ArgumentException>(() => new ServerAccessOptions { User = "ana" }.Validate());
        Assert.Throws<ArgumentException>(() => new ServerAccessOptions { RequireCredentialsLocally = true }.Validate());
        WithCredentials.Validate();
    }

    private static async Task<int> StatusAsync(ServerAccessOptions options, string remote, string? authorization)
    {
        var reached = false;
        var context = Request(remote, authorization);
        await new AccessGuard(_ =>
        {
            reached = true;
            return Task.CompletedTask;
        }, options).InvokeAsync(context);
        Assert.Equal(context.Response.StatusCode == 200, reached);
        return context.Response.StatusCode;
    }

    private static DefaultHttpContext Request(string remote, string? authorization)
    {
        var context = new DefaultHttpContext { Connection = { RemoteIpAddress = IPAddress.Parse(remote) } };
        if (authorization is not null) context.Request.Headers.Authorization = authorization;
        context.Response.StatusCode = 200;
        return context;
    }
}
