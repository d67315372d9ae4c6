using System.Globalization;

namespace Concerto.Ingest.Core.Datasets.Filter;

/// <summary>A literal value of a filter, typed like the field it is compared with. Created only through the factory
/// methods, so that <see cref="Value"/> always matches <see cref="Type"/>.</summary>
public sealed record FilterLiteral
{
    private FilterLiteral(FilterType type, object value)
    {
        Type = type;
        Value = value;
    }

    public FilterType Type { get; }

    /// <summary><see cref="long"/> or <see cref="double"/> (Number), <see cref="string"/> (Text), <see cref="bool"/>
    /// (Bool) or a UTC <see cref="DateTime"/> (Timestamp). This is what goes into the SQL parameter.</summary>
    public object Value { get; }

    public static FilterLiteral Number(long value) => new(FilterType.Number, value);

    public static FilterLiteral Number(double value) => double.IsFinite(value)
        ? new(FilterType.Number, value)
        : throw new ArgumentOutOfRangeException(nameof(value), value, "A filter number must be finite.");

    public static FilterLiteral Text(string value) => new(FilterType.Text, value ?? throw new ArgumentNullException(nameof(value)));

    public static FilterLiteral Bool(bool value) => new(FilterType.Bool, value);

    public static FilterLiteral Timestamp(DateTime value) => value.Kind == DateTimeKind.Utc
        ? new(FilterType.Timestamp, value)
        : throw new ArgumentException("A filter timestamp must be UTC.", nameof(value));

    /// <summary>The literal as the canonical filter text writes it; parsing that text gives this literal back (a
    /// fractional or exponent number keeps a '.' or 'E' so it stays a double, timestamps are written in full UTC).</summary>
    public override string ToString() => Value switch
    {
        long n => n.ToString(CultureInfo.InvariantCulture),
        double d => FormatDouble(d),
        string s => Quote(s),
        bool b => b ? "true" : "false",
        DateTime t => Quote(t.ToString("yyyy-MM-dd'T'HH:mm:ss.FFFFFFF'Z'", CultureInfo.InvariantCulture)),
        _ => throw new InvalidOperationException($"Unexpected literal value {Value.GetType()}."),
    };

    internal static string Quote(string s) => $"'{s.Replace("'", "''", StringComparison.Ordinal)}'";

    private static string FormatDouble(double d)
    {
        var text = d.ToString("R", CultureInfo.InvariantCulture);
        return text.AsSpan().IndexOfAny('.', 'E') >= 0 ? text : text + ".0";
    }
}
