using System.Globalization;
using System.Text;

namespace Concerto.Ingest.Core.Datasets.Filter;

internal enum TokenKind { Identifier, Keyword, Number, String, Operator, LeftParen, RightParen, Comma, End }

/// <summary>One token of a filter expression.</summary>
/// <param name="Text">The source text of the token; for keywords, the keyword in lower case.</param>
/// <param name="Value">A number (<see cref="long"/> or <see cref="double"/>) or a string's unescaped contents.</param>
internal readonly record struct Token(TokenKind Kind, string Text, int Position, int Length, object? Value = null)
{
    public bool Is(TokenKind kind, string text) => Kind == kind && Text == text;

    public bool IsKeyword(string keyword) => Is(TokenKind.Keyword, keyword);

    /// <summary>How error messages quote the token.</summary>
    public string Describe() => Kind switch
    {
        TokenKind.End => "the end of the filter",
        TokenKind.String => Text,
        _ => $"'{Text}'",
    };
}

/// <summary>Splits a filter expression into tokens, each with its position for error messages.</summary>
internal static class FilterTokenizer
{
    internal static readonly HashSet<string> Keywords =
        new(["and", "or", "not", "in", "between", "like", "is", "null", "true", "false"], StringComparer.OrdinalIgnoreCase);

    private static readonly string[] TwoCharOperators = ["==", "!=", "<>", "<=", ">="];

    public static List<Token> Tokenize(string text)
    {
        CheckCharacters(text);
        var tokens = new List<Token>();
        var i = 0;
        while (true)
        {
            while (i < text.Length && char.IsWhiteSpace(text[i]))
            {
                i++;
            }
            if (i == text.Length)
            {
                tokens.Add(new Token(TokenKind.End, "", text.Length, 1));
                return tokens;
            }
            var token = Next(text, i);
            tokens.Add(token);
            i += token.Length;
        }
    }

    /// <summary>Refuses what no part of a filter may hold, even inside a string: NUL (PostgreSQL text cannot store it,
    /// so it would fail in the database instead of here) and unpaired UTF-16 surrogates (not text at all; they cannot be
    /// encoded as UTF-8 for the server).</summary>
    private static void CheckCharacters(string text)
    {
        for (var i = 0; i < text.Length; i++)
        {
            var c = text[i];
            if (c == '\0')
                throw new FilterException("the filter holds a NUL character (U+0000), which no field can contain", text, i, 1);
            if (char.IsHighSurrogate(c) && i + 1 < text.Length && char.IsLowSurrogate(text[i + 1]))
            {
                i++;
                continue;
            }
            if (char.IsSurrogate(c))
                throw new FilterException(string.Create(CultureInfo.InvariantCulture,
                    $"the filter holds an unpaired UTF-16 surrogate (U+{(int)c:X4}), which is not text"), text, i, 1);
        }
    }

    /// <summary>A character as error messages quote it: itself, or its code point when it would not show (a control,
    /// format or space character, e.g. a zero-width space) or is not ASCII (a look-alike of an operator or quote).</summary>
    private static string Quote(char c) => c is > ' ' and < (char)0x7F
        ? $"'{c}'"
        : string.Create(CultureInfo.InvariantCulture, $"U+{(int)c:X4}");

    public static bool IsIdentifierStart(char c) => char.IsAsciiLetter(c) || c == '_';

    public static bool IsIdentifierPart(char c) => char.IsAsciiLetterOrDigit(c) || c == '_';

    private static Token Next(string text, int start)
    {
        var c = text[start];
        var next = start + 1 < text.Length ? text[start + 1] : '\0';
        switch (c)
        {
            case '(':
                return new Token(TokenKind.LeftParen, "(", start, 1);
            case ')':
                return new Token(TokenKind.RightParen, ")", start, 1);
            case ',':
                return new Token(TokenKind.Comma, ",", start, 1);
            case '\'':
                return ReadString(text, start);
            case '"':
                throw new FilterException("strings are written in single quotes ('...')", text, start, 1);
        }
        if (IsIdentifierStart(c))
        {
            return ReadWord(text, start);
        }
        if (char.IsAsciiDigit(c) || (c is '-' or '.' && (char.IsAsciiDigit(next) || (c == '-' && next == '.'))))
        {
            return ReadNumber(text, start);
        }
        foreach (var op in TwoCharOperators)
        {
            if (string.CompareOrdinal(text, start, op, 0, 2) == 0)
            {
                return new Token(TokenKind.Operator, op, start, 2);
            }
        }
        if (c is '=' or '<' or '>')
        {
            return new Token(TokenKind.Operator, c.ToString(), start, 1);
        }
        var hint = (c, next) switch
        {
            ('&', '&') => " (use 'and')",
            ('|', '|') => " (use 'or')",
            ('!', _) => " (use 'not')",
            _ => "",
        };
        // A surrogate pair (an emoji, say) is one character to the reader: quote and underline both halves.
        var length = char.IsHighSurrogate(c) ? 2 : 1;
        var shown = length == 2
            ? string.Create(CultureInfo.InvariantCulture, $"U+{char.ConvertToUtf32(c, next):X4}")
            : Quote(c);
        throw new FilterException($"unexpected character {shown}{hint}", text, start, length);
    }

    /// <summary>A field name (dot-separated identifiers, e.g. <c>source.path</c>) or a keyword.</summary>
    private static Token ReadWord(string text, int start)
    {
        var i = start;
        while (true)
        {
            while (i < text.Length && IsIdentifierPart(text[i]))
            {
                i++;
            }
            if (i + 1 < text.Length && text[i] == '.' && IsIdentifierStart(text[i + 1]))
            {
                i++;
                continue;
            }
            break;
        }
        var word = text[start..i];
        return Keywords.Contains(word)
            ? new Token(TokenKind.Keyword, word.ToLowerInvariant(), start, word.Length)
            : new Token(TokenKind.Identifier, word, start, word.Length);
    }

    private static Token ReadString(string text, int start)
    {
        var value = new StringBuilder();
        var i = start + 1;
        while (i < text.Length)
        {
            if (text[i] == '\'')
            {
                if (i + 1 < text.Length && text[i + 1] == '\'')
                {
                    value.Append('\'');
                    i += 2;
                    continue;
                }
                return new Token(TokenKind.String, text[start..(i + 1)], start, i + 1 - start, value.ToString());
            }
            value.Append(text[i]);
            i++;
        }
        throw new FilterException("unterminated string (a quote inside a string is written '')",
            text, start, text.Length - start);
    }

    /// <summary>An optionally negative integer, decimal or exponent number. Integers without '.' or exponent become
    /// <see cref="long"/> (when they fit), everything else <see cref="double"/>.</summary>
    private static Token ReadNumber(string text, int start)
    {
        var i = start;
        if (text[i] == '-')
        {
            i++;
        }
        var integral = true;
        var valid = SkipDigits(text, ref i) | (i < text.Length && text[i] == '.');
        if (i < text.Length && text[i] == '.')
        {
            integral = false;
            i++;
            valid = SkipDigits(text, ref i);
        }
        if (valid && i < text.Length && text[i] is 'e' or 'E')
        {
            integral = false;
            i++;
            if (i < text.Length && text[i] is '+' or '-')
            {
                i++;
            }
            valid = SkipDigits(text, ref i);
        }
        // "12abc", "1.2.3", "1e": report the whole run rather than splitting it into confusing tokens.
        var end = i;
        while (end < text.Length && (IsIdentifierPart(text[end]) || text[end] == '.'))
        {
            end++;
        }
        var raw = text[start..end];
        if (!valid || end != i)
        {
            throw new FilterException($"invalid number '{raw}'", text, start, raw.Length);
        }
        if (integral && long.TryParse(raw, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var whole))
        {
            return new Token(TokenKind.Number, raw, start, raw.Length, whole);
        }
        var number = double.Parse(raw, NumberStyles.Float, CultureInfo.InvariantCulture);
        if (!double.IsFinite(number))
        {
            throw new FilterException($"number '{raw}' is out of range", text, start, raw.Length);
        }
        return new Token(TokenKind.Number, raw, start, raw.Length, number);
    }

    private static bool SkipDigits(string text, ref int i)
    {
        var start = i;
        while (i < text.Length && char.IsAsciiDigit(text[i]))
        {
            i++;
        }
        return i > start;
    }
}
