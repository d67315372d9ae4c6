namespace Concerto.Ingest.Core.Datasets.Filter;

/// <summary>One field users may filter on.</summary>
/// <param name="Name">The name as users type it (matched case-insensitively), e.g. <c>source.path</c>; this spelling is
/// the canonical one.</param>
/// <param name="Sql">Trusted SQL the field maps to, e.g. <c>s.coverage_min</c> or
/// <c>(s.metrics->>'x')::double precision</c>. It is pasted into the generated SQL as is, so it must never come from
/// users.</param>
/// <param name="Type">Which literals and operators the field accepts.</param>
/// <param name="Description">One line for help output.</param>
public sealed record FilterField(string Name, string Sql, FilterType Type, string? Description = null);
