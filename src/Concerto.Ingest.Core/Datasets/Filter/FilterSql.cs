namespace Concerto.Ingest.Core.Datasets.Filter;

/// <summary>A filter as a SQL boolean expression for a WHERE clause, with its literals as positional parameters.</summary>
/// <param name="Where">SQL text that references parameters as <c>$n</c> (Npgsql positional style); it holds no literal
/// from the filter text.</param>
/// <param name="Parameters">The values of <c>$first</c>, <c>$first+1</c>, ... in order: <see cref="long"/>,
/// <see cref="double"/>, <see cref="string"/>, <see cref="bool"/> or UTC <see cref="DateTime"/>.</param>
public sealed record FilterSql(string Where, IReadOnlyList<object> Parameters);
