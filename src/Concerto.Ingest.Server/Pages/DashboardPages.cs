using System.Collections.Frozen;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace Concerto.Ingest.Server.Pages;

/// <summary>The dashboard's pages: one page shell (hash routes: overview, run, datasets, training, segment viewer) and
/// its script and stylesheet, bundled from web/ by the build (build.mjs) and embedded in this assembly.</summary>
public static class DashboardPages
{
    private const string Prefix = "web/";

    private static readonly FrozenDictionary<string, (byte[] Content, string Type)> Assets = Load();

    public static void MapDashboardPages(this IEndpointRouteBuilder app)
    {
        app.MapGet("/", () => Asset("index.html")).ExcludeFromDescription();
        app.MapGet("/assets/{file}", (string file) => Asset(file)).ExcludeFromDescription();
    }

    private static IResult Asset(string file) => Assets.TryGetValue(file, out var asset)
        ? TypedResults.Bytes(asset.Content, asset.Type)
        : TypedResults.NotFound();

    private static FrozenDictionary<string, (byte[], string)> Load()
    {
        var assembly = typeof(DashboardPages).Assembly;
        var assets = new Dictionary<string, (byte[], string)>(StringComparer.Ordinal);
        foreach (var name in assembly.GetManifestResourceNames().Where(n => n.StartsWith(Prefix, StringComparison.Ordinal)))
        {
            using var stream = assembly.GetManifestResourceStream(name)!;
            using var buffer = new MemoryStream();
            stream.CopyTo(buffer);
            var file = name[Prefix.Length..];
            assets[file] = (buffer.ToArray(), Path.GetExtension(file) switch
            {
                ".html" => "text/html; charset=utf-8",
                ".js" => "text/javascript; charset=utf-8",
                ".css" => "text/css; charset=utf-8",
                _ => "application/octet-stream",
            });
        }

        return assets.ToFrozenDictionary(StringComparer.Ordinal);
    }
}
