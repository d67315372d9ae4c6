using Concerto.Ingest.Formats.Manifests;
using Concerto.Ingest.Jobs.Datasets;
using Concerto.Ingest.Storage.Catalog;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace Concerto.Ingest.Server.Api;

/// <summary>One member of a dataset version, as listed by the dashboard.</summary>
public sealed record DatasetMemberSummary(long SegmentId, string SegmentKey, string Split, long RunId, string SourcePath, int Points,
    long Correspondences, double MeanCoverage, bool Labelled);

public sealed record DatasetDetail(DatasetVersion Version, IReadOnlyList<DatasetMemberSummary> Members);

/// <summary>/api/datasets: the immutable dataset versions, their members, and manifest download.</summary>
public static class DatasetEndpoints
{
    public static void MapDatasetApi(this IEndpointRouteBuilder app)
    {
        var api = app.MapGroup("/api/datasets").WithTags("datasets");
        api.MapGet("/", async (DatasetCatalog catalog, CancellationToken ct) => TypedResults.Ok(await catalog.ListAsync(ct).ConfigureAwait(false)))
            .WithSummary("Every dataset version: filter, splits, seed, counts per split, content hash.");
        api.MapGet("/{name}/{version:int}", async Task<IResult> (DatasetCatalog catalog, string name, int version, CancellationToken ct) =>
            {
                var found = await FindAsync(catalog, name, version, ct).ConfigureAwait(false);
                if (found is null) return RunEndpoints.NotFound($"dataset {name}@{version} does not exist");
                var members = await catalog.MembersAsync(found.Id, ct).ConfigureAwait(false);
                return TypedResults.Ok(new DatasetDetail(found, [.. members.Select(m => new DatasetMemberSummary(m.SegmentId, m.SegmentKey, m.Split,
                    m.RunId, m.SourcePath, m.Points, m.Correspondences, m.MeanCoverage, m.Labelled))]));
            })
            .WithSummary("One dataset version with its members.")
            .Produces<DatasetDetail>();
        api.MapGet("/{name}/{version:int}/manifest", async Task<IResult> (DatasetCatalog catalog, DatasetExporter exporter, HttpContext http, string name,
                int version, string? format, CancellationToken ct) =>
            {
                if (format is not (null or "parquet" or "jsonl"))
                    return TypedResults.Problem($"format '{format}' is not one of parquet, jsonl", statusCode: StatusCodes.Status400BadRequest);
                var found = await FindAsync(catalog, name, version, ct).ConfigureAwait(false);
                if (found is null) return RunEndpoints.NotFound($"dataset {name}@{version} does not exist");
                var jsonl = format == "jsonl";
                // Written to memory first: a failure mid-way becomes an error status, not a truncated download.
                var buffer = new MemoryStream();
                await exporter.WriteManifestAsync(found, jsonl ? ManifestFormat.Jsonl : ManifestFormat.Parquet, buffer, ct).ConfigureAwait(false);
                buffer.Position = 0;
                return TypedResults.File(buffer, jsonl ? "application/x-ndjson" : "application/vnd.apache.parquet",
                    $"{found.Name}-{found.Version}.{(jsonl ? "jsonl" : "parquet")}");
            })
            .WithSummary("The version's manifest as a file: Parquet (default) or JSON lines (`format=jsonl`).");
    }

    private static async Task<DatasetVersion?> FindAsync(DatasetCatalog catalog, string name, int version, CancellationToken ct)
    {
        try
        {
            return await catalog.GetAsync(name, version, ct).ConfigureAwait(false);
        }
        catch (KeyNotFoundException)
        {
            return null;
        }
    }
}
