using System.Globalization;
using System.Text;

namespace Concerto.Ingest.Core.Datasets.Filter;

/// <summary>A filter that cannot be parsed. <see cref="Exception.Message"/> is ready to show users: a first line with the
/// column and the reason, then the expression and a caret line under the offending text.</summary>
public sealed class FilterException : Exception
{
    /// <summary>Longer expressions are shown as a window around the error, so the caret stays near its text.</summary>
    private const int MaxShownChars = 100;

    public FilterException(string reason, string expression, int position, int length)
        : base(Format(reason, expression, position, length))
    {
        Reason = reason;
        Expression = expression;
        Position = position;
        Length = length;
    }

    /// <summary>The reason alone, without position or caret lines.</summary>
    public string Reason { get; }

    /// <summary>The filter text as given.</summary>
    public string Expression { get; }

    /// <summary>0-based offset of the offending text in <see cref="Expression"/>; its length when the input ended
    /// too early.</summary>
    public int Position { get; }

    /// <summary>Number of characters the error covers (at least 1).</summary>
    public int Length { get; }

    /// <summary>1-based column, as the message shows it.</summary>
    public int Column => Position + 1;

    private static string Format(string reason, string expression, int position, int length)
    {
        ArgumentNullException.ThrowIfNull(reason);
        ArgumentNullException.ThrowIfNull(expression);
        ArgumentOutOfRangeException.ThrowIfNegative(position);
        ArgumentOutOfRangeException.ThrowIfLessThan(length, 1);

        var start = 0;
        var end = expression.Length;
        if (expression.Length > MaxShownChars)
        {
            start = Math.Clamp(position - (MaxShownChars / 3), 0, Math.Max(0, expression.Length - MaxShownChars));
            end = start + MaxShownChars;
        }
        var prefix = start > 0 ? "..." : "";
        var suffix = end < expression.Length ? "..." : "";
        // Tabs and line breaks become spaces so that one character stays one column under the caret.
        var shown = new StringBuilder(expression.Length);
        foreach (var c in expression.AsSpan(start, end - start))
        {
            shown.Append(char.IsControl(c) ? ' ' : c);
        }
        var caretStart = prefix.Length + position - start;
        var caretLength = Math.Max(1, Math.Min(length, end + 1 - position));

        return string.Create(CultureInfo.InvariantCulture,
            $"filter error at column {position + 1}: {reason}\n{prefix}{shown}{suffix}\n{new string(' ', caretStart)}{new string('^', caretLength)}");
    }
}
