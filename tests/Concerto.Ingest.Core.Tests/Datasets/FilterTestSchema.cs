using Concerto.Ingest.Core.Datasets.Filter;

namespace Concerto.Ingest.Core.Tests.Datasets;

/// <summary>A schema shaped like the dataset-curation one: plain columns, a JSON metric and every field type.</summary>
internal static class FilterTestSchema
{
    public static FilterSchema Schema { get; } = new(
    [
        new FilterField("coverage_min", "s.coverage_min", FilterType.Number, "Least per-keyframe coverage"),
        new FilterField("coverage_mean", "s.coverage_mean", FilterType.Number),
        new FilterField("points", "s.point_count", FilterType.Number),
        new FilterField("metrics.visible_fraction_min", "(s.metrics->>'visible_fraction_min')::double precision", FilterType.Number),
        new FilterField("source.path", "v.path", FilterType.Text),
        new FilterField("method", "s.method", FilterType.Text),
        new FilterField("scene.floor_found", "s.floor_found", FilterType.Bool),
        new FilterField("created_at", "s.created_at", FilterType.Timestamp),
    ]);

    public static FilterExpression Parse(string text) => FilterExpression.Parse(text, Schema);

    public static FilterSql Sql(string text, int firstParameterIndex = 1) => Parse(text).ToSql(firstParameterIndex);

    public static FilterException Error(string text) => Assert.Throws<FilterException>(() => Parse(text));
}
