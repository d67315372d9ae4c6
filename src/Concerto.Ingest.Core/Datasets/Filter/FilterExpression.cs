using System.Collections.Immutable;

namespace Concerto.Ingest.Core.Datasets.Filter;

/// <summary>A parsed filter: an immutable tree of the records below, with value equality. Every field in it is a
/// <see cref="FilterField"/> of the schema it was parsed against, and every literal has been checked against its
/// field's type.</summary>
public abstract record FilterExpression
{
    /// <summary>Longest filter text accepted.</summary>
    public const int MaxLength = 4000;

    /// <summary>Deepest nesting of parentheses and <c>not</c> accepted.</summary>
    public const int MaxDepth = 64;

    /// <summary>Parses <paramref name="text"/> against <paramref name="schema"/>. Callers treat an absent filter as
    /// "everything" themselves: an empty or blank text is an error here.</summary>
    /// <exception cref="FilterException">The text is empty, too long, too deeply nested, malformed, names an unknown
    /// field, or compares a field with a literal of another type.</exception>
    public static FilterExpression Parse(string text, FilterSchema schema)
    {
        ArgumentNullException.ThrowIfNull(text);
        ArgumentNullException.ThrowIfNull(schema);
        return FilterParser.Parse(text, schema);
    }

    /// <summary>The filter as a parameterised SQL boolean expression; literals become <c>$n</c> parameters numbered
    /// from <paramref name="firstParameterIndex"/> (so the filter can follow a query's own parameters).</summary>
    public FilterSql ToSql(int firstParameterIndex = 1)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(firstParameterIndex, 1);
        return FilterSqlEmitter.Emit(this, firstParameterIndex);
    }

    /// <summary>The canonical text of the filter: lower-case keywords, the schema's spelling of field names, single
    /// spaces, literals normalised, and only the parentheses precedence needs. Filters that differ only in how they
    /// are written give the same text, and parsing the text gives the same filter.</summary>
    public sealed override string ToString() => FilterFormatter.Format(this);
}

/// <summary><c>left and right</c>.</summary>
public sealed record FilterAnd(FilterExpression Left, FilterExpression Right) : FilterExpression;

/// <summary><c>left or right</c>.</summary>
public sealed record FilterOr(FilterExpression Left, FilterExpression Right) : FilterExpression;

/// <summary><c>not operand</c>.</summary>
public sealed record FilterNot(FilterExpression Operand) : FilterExpression;

/// <summary><c>field op value</c>; a bare Bool field is <c>field = true</c>.</summary>
public sealed record FilterComparison(FilterField Field, FilterOperator Operator, FilterLiteral Value) : FilterExpression;

/// <summary><c>field [not] between low and high</c> (inclusive).</summary>
public sealed record FilterBetween(FilterField Field, FilterLiteral Low, FilterLiteral High, bool Negated = false)
    : FilterExpression;

/// <summary><c>field [not] like 'pattern'</c>: SQL LIKE, with <c>%</c> and <c>_</c> as wildcards.</summary>
public sealed record FilterLike(FilterField Field, string Pattern, bool Negated = false) : FilterExpression;

/// <summary><c>field is [not] null</c>.</summary>
public sealed record FilterIsNull(FilterField Field, bool Negated = false) : FilterExpression;

/// <summary><c>field [not] in (value, ...)</c>.</summary>
public sealed record FilterIn(FilterField Field, ImmutableArray<FilterLiteral> Values, bool Negated = false)
    : FilterExpression
{
    public ImmutableArray<FilterLiteral> Values { get; } = Values.IsDefaultOrEmpty
        ? throw new ArgumentException("An 'in' list needs at least one value.", nameof(Values))
        : Values;

    // ImmutableArray compares by reference; the list's values decide equality here, as for the other nodes.
    public bool Equals(FilterIn? other) =>
        other is not null && Field == other.Field && Negated == other.Negated && Values.SequenceEqual(other.Values);

    public override int GetHashCode()
    {
        var hash = new HashCode();
        hash.Add(Field);
        hash.Add(Negated);
        foreach (var value in Values)
        {
            hash.Add(value);
        }
        return hash.ToHashCode();
    }
}

/// <summary>Comparison operators; each has one canonical spelling (<c>==</c> is written <c>=</c>, <c>&lt;&gt;</c> is
/// written <c>!=</c>).</summary>
public enum FilterOperator { Equal, NotEqual, Less, LessOrEqual, Greater, GreaterOrEqual }
