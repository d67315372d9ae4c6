using System.Diagnostics.CodeAnalysis;

namespace Concerto.Ingest.Core.Datasets.Filter;

/// <summary>The fields a filter may use: the whitelist that decides which SQL a filter can reach.</summary>
public sealed class FilterSchema
{
    private readonly Dictionary<string, FilterField> _byName = new(StringComparer.OrdinalIgnoreCase);

    /// <exception cref="ArgumentException">A name is not a dotted identifier (letters, digits, '_', '.'), is a filter
    /// keyword, or appears twice (ignoring case); or a field has no SQL.</exception>
    public FilterSchema(IEnumerable<FilterField> fields)
    {
        ArgumentNullException.ThrowIfNull(fields);
        var declared = new List<FilterField>();
        foreach (var field in fields)
        {
            ArgumentNullException.ThrowIfNull(field, nameof(fields));
            if (!IsValidName(field.Name))
            {
                throw new ArgumentException(
                    $"Filter field name '{field.Name}' must be dot-separated identifiers and not a keyword.", nameof(fields));
            }
            if (string.IsNullOrWhiteSpace(field.Sql))
            {
                throw new ArgumentException($"Filter field '{field.Name}' has no SQL.", nameof(fields));
            }
            if (!_byName.TryAdd(field.Name, field))
            {
                throw new ArgumentException($"Filter field '{field.Name}' is declared twice.", nameof(fields));
            }
            declared.Add(field);
        }
        Fields = declared.AsReadOnly();
    }

    /// <summary>The fields in declaration order (for help output).</summary>
    public IReadOnlyList<FilterField> Fields { get; }

    /// <summary>Looks a field up by name, ignoring case.</summary>
    public bool TryGetField(string name, [NotNullWhen(true)] out FilterField? field) => _byName.TryGetValue(name, out field);

    /// <summary>Fields the user may have meant by an unknown <paramref name="name"/>: those within two edits of it
    /// (closest first), those it is a prefix of, and those whose last dotted part it is.</summary>
    public IReadOnlyList<FilterField> Suggest(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        var lower = name.ToLowerInvariant();
        return Fields
            .Select(f => (Field: f, Distance: Distance(lower, f.Name.ToLowerInvariant())))
            .Where(c => (c.Distance <= 2 && c.Distance < lower.Length)
                || (lower.Length >= 2 && c.Field.Name.StartsWith(lower, StringComparison.OrdinalIgnoreCase))
                || c.Field.Name.EndsWith("." + lower, StringComparison.OrdinalIgnoreCase))
            .OrderBy(c => Math.Min(c.Distance, 3))
            .Select(c => c.Field)
            .Take(3)
            .ToList();
    }

    private static bool IsValidName(string? name) =>
        !string.IsNullOrEmpty(name)
        && !FilterTokenizer.Keywords.Contains(name)
        && name.Split('.').All(part =>
            part.Length > 0 && FilterTokenizer.IsIdentifierStart(part[0]) && part.All(FilterTokenizer.IsIdentifierPart));

    /// <summary>Optimal string alignment distance: insertions, deletions, substitutions and adjacent transpositions
    /// (the usual typos) each cost one.</summary>
    private static int Distance(string a, string b)
    {
        var d = new int[a.Length + 1, b.Length + 1];
        for (var i = 0; i <= a.Length; i++)
        {
            d[i, 0] = i;
        }
        for (var j = 0; j <= b.Length; j++)
        {
            d[0, j] = j;
        }
        for (var i = 1; i <= a.Length; i++)
        {
            for (var j = 1; j <= b.Length; j++)
            {
                var cost = a[i - 1] == b[j - 1] ? 0 : 1;
                d[i, j] = Math.Min(Math.Min(d[i - 1, j] + 1, d[i, j - 1] + 1), d[i - 1, j - 1] + cost);
                if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1])
                {
                    d[i, j] = Math.Min(d[i, j], d[i - 2, j - 2] + 1);
                }
            }
        }
        return d[a.Length, b.Length];
    }
}
