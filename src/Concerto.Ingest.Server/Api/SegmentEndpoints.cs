using System.Runtime.InteropServices;
using Concerto.Ingest.Formats.Datasets;
using Concerto.Ingest.Formats.PointClouds;
using Concerto.Ingest.Storage.Artifacts;
using Concerto.Ingest.Storage.Catalog;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace Concerto.Ingest.Server.Api;

/// <summary>Where a segment point lands in one of the segment's images (pixel column and row).</summary>
public sealed record PointPixel(int Slot, float Column, float Row);

/// <summary>/api/segments: one segment's metadata, point cloud, images and pixel-to-point correspondences, read from
/// its folder in the artifact store (the files `SegmentFiles` wrote).</summary>
public static class SegmentEndpoints
{
    public static void MapSegmentApi(this IEndpointRouteBuilder app)
    {
        var api = app.MapGroup("/api/segments").WithTags("segments").AddEndpointFilter(ArtifactErrors);
        api.MapGet("/{id:long}", async Task<IResult> (SegmentQueries q, long id, CancellationToken ct) =>
                await q.GetAsync(id, ct).ConfigureAwait(false) is { } segment ? TypedResults.Ok(segment) : Missing(id))
            .WithSummary("A segment: key, run, point count, quality figures and its images' cameras and correspondence counts.")
            .Produces<SegmentSummary>();
        api.MapGet("/{id:long}/cloud", async Task<IResult> (SegmentQueries q, IArtifactStore store, long id, CancellationToken ct) =>
            {
                if (await q.GetAsync(id, ct).ConfigureAwait(false) is not { } segment) return Missing(id);
                var folder = await store.LocalPathAsync(segment.ArtifactKey, ct).ConfigureAwait(false);
                var cloud = PointCloudFiles.Read(folder);
                var (coord, color) = (cloud.Coord, cloud.Color);
                var label = !segment.Labelled ? []
                    : cloud.Segment ?? throw new InvalidDataException($"{folder} has no {PointCloudFiles.SegmentFile}, yet segment {id} is indexed as labelled; re-run its segment stage.");
                var bytes = new byte[coord.Length * 4 + color.Length + label.Length * 4];
                MemoryMarshal.AsBytes(coord.AsSpan()).CopyTo(bytes);
                color.CopyTo(bytes.AsSpan(coord.Length * 4));
                MemoryMarshal.AsBytes(label.AsSpan()).CopyTo(bytes.AsSpan(coord.Length * 4 + color.Length));
                return TypedResults.Bytes(bytes, "application/octet-stream");
            })
            .WithSummary("The point cloud, binary little-endian: N x 3 float32 xyz, then N x 3 uint8 rgb, then (labelled segments) N int32 semantic labels; N is the segment's `points`.");
        api.MapGet("/{id:long}/images/{slot:int}", async Task<IResult> (SegmentQueries q, IArtifactStore store, long id, int slot, CancellationToken ct) =>
            {
                if (await q.GetAsync(id, ct).ConfigureAwait(false) is not { } segment) return Missing(id);
                var image = segment.Images.FirstOrDefault(i => i.Slot == slot);
                if (image is null) return RunEndpoints.NotFound($"segment {id} has no image {slot}");
                var type = Path.GetExtension(image.ImageFile).Equals(".png", StringComparison.OrdinalIgnoreCase) ? "image/png" : "image/jpeg";
                return TypedResults.PhysicalFile(await store.LocalPathAsync(ArtifactKeys.Combine(segment.ArtifactKey, image.ImageFile), ct).ConfigureAwait(false), type);
            })
            .WithSummary("One of the segment's images (as the segment stage stored it, JPEG).");
        api.MapGet("/{id:long}/points/{index:int}/pixels", async Task<IResult> (SegmentQueries q, IArtifactStore store, long id, int index, CancellationToken ct) =>
            {
                if (await q.GetAsync(id, ct).ConfigureAwait(false) is not { } segment) return Missing(id);
                if (index < 0 || index >= segment.Points)
                    return TypedResults.Problem($"point {index} is outside segment {id}'s {segment.Points} points", statusCode: StatusCodes.Status400BadRequest);
                return TypedResults.Ok(Pixels(await store.LocalPathAsync(segment.ArtifactKey, ct).ConfigureAwait(false), segment.Images, segment.Points, index));
            })
            .WithSummary("Where one point of the cloud appears in each image, from the correspondences (none where it is not seen).");
    }

    /// <summary>A key the database holds that is malformed or would leave the artifact root is refused (400), never
    /// followed; one whose files are gone is 404.</summary>
    private static async ValueTask<object?> ArtifactErrors(EndpointFilterInvocationContext context, EndpointFilterDelegate next)
    {
        try
        {
            return await next(context).ConfigureAwait(false);
        }
        catch (InvalidArtifactKeyException e)
        {
            return TypedResults.Problem(e.Message, statusCode: StatusCodes.Status400BadRequest);
        }
        catch (ArtifactNotFoundException e)
        {
            return RunEndpoints.NotFound(e.Message);
        }
    }

    /// <summary>Rows of each image's correspondence file (column, row, point index) that name the point.</summary>
    private static List<PointPixel> Pixels(string folder, IReadOnlyList<SegmentImageRow> images, int points, int index)
    {
        var pixels = new List<PointPixel>();
        foreach (var image in images)
        {
            var rows = SegmentImageFiles.ReadCorrespondences(Path.Combine(folder, SegmentImageFiles.Correspondence(image.Slot)), points);
            for (var r = 0; r + 2 < rows.Length; r += 3)
                if ((int)rows[r + 2] == index) pixels.Add(new PointPixel(image.Slot, rows[r], rows[r + 1]));
        }

        return pixels;
    }

    private static IResult Missing(long id) => RunEndpoints.NotFound($"segment {id} does not exist");
}
