namespace Concerto.Ingest.Core.Datasets.Filter;

/// <summary>The value type of a filter field; decides which literals and operators a comparison accepts.</summary>
public enum FilterType
{
    /// <summary>Numeric literals (<c>3</c>, <c>-0.5</c>, <c>1e-3</c>), passed as <see cref="long"/> or <see cref="double"/>.</summary>
    Number,

    /// <summary>Single-quoted strings; the only type <c>like</c> accepts.</summary>
    Text,

    /// <summary><c>true</c> or <c>false</c>; a bare field name means <c>= true</c>. Only equality, <c>in</c> and <c>is null</c>.</summary>
    Bool,

    /// <summary>ISO-8601 strings (<c>'2026-01-31'</c>, <c>'2026-01-31T12:00:00Z'</c>), passed as UTC <see cref="DateTime"/>
    /// (so the column should be <c>timestamptz</c>). A timestamp without an offset is read as UTC.</summary>
    Timestamp,
}
