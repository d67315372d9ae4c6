using System.Collections.Immutable;
using System.Globalization;

namespace Concerto.Ingest.Core.Datasets.Filter;

/// <summary>Recursive-descent parser for the filter grammar (keywords case-insensitive):
/// <code>
/// expr       := and ('or' and)*
/// and        := not ('and' not)*
/// not        := 'not' not | primary
/// primary    := '(' expr ')' | comparison | bool-field
/// comparison := field op value | field ['not'] 'in' '(' value (',' value)* ')'
///             | field ['not'] 'between' value 'and' value | field ['not'] 'like' string
///             | field 'is' ['not'] 'null'
/// op         := '=' | '==' | '!=' | '&lt;&gt;' | '&lt;' | '&lt;=' | '&gt;' | '&gt;='
/// </code>
/// Fields are resolved and literals type-checked while parsing, so every error can point at its token.</summary>
internal sealed class FilterParser
{
    private static readonly string[] TimestampFormats =
    [
        "yyyy-MM-dd",
        "yyyy-MM-dd'T'HH:mmK", "yyyy-MM-dd'T'HH:mm:ss.FFFFFFFK",
        "yyyy-MM-dd HH:mmK", "yyyy-MM-dd HH:mm:ss.FFFFFFFK",
    ];

    private readonly string _text;
    private readonly FilterSchema _schema;
    private readonly List<Token> _tokens;
    private int _index;

    private FilterParser(string text, FilterSchema schema)
    {
        _text = text;
        _schema = schema;
        _tokens = FilterTokenizer.Tokenize(text);
    }

    private Token Current => _tokens[_index];

    public static FilterExpression Parse(string text, FilterSchema schema)
    {
        if (string.IsNullOrWhiteSpace(text))
        {
            throw new FilterException("empty filter", text, 0, Math.Max(1, text.Length));
        }
        if (text.Length > FilterExpression.MaxLength)
        {
            throw new FilterException(
                $"filter is too long ({text.Length} characters; at most {FilterExpression.MaxLength})",
                text, FilterExpression.MaxLength, text.Length - FilterExpression.MaxLength);
        }
        var parser = new FilterParser(text, schema);
        var expression = parser.ParseOr(depth: 0);
        parser.ExpectEnd();
        return expression;
    }

    private FilterExpression ParseOr(int depth)
    {
        var left = ParseAnd(depth);
        while (Current.IsKeyword("or"))
        {
            Advance();
            left = new FilterOr(left, ParseAnd(depth));
        }
        return left;
    }

    private FilterExpression ParseAnd(int depth)
    {
        var left = ParseNot(depth);
        while (Current.IsKeyword("and"))
        {
            Advance();
            left = new FilterAnd(left, ParseNot(depth));
        }
        return left;
    }

    private FilterExpression ParseNot(int depth)
    {
        if (!Current.IsKeyword("not"))
        {
            return ParsePrimary(depth);
        }
        CheckDepth(Advance(), depth + 1);
        return new FilterNot(ParseNot(depth + 1));
    }

    private FilterExpression ParsePrimary(int depth)
    {
        var token = Current;
        if (token.Kind == TokenKind.LeftParen)
        {
            Advance();
            CheckDepth(token, depth + 1);
            var inner = ParseOr(depth + 1);
            ExpectClosing(token, "'and', 'or' or ')'");
            return inner;
        }
        if (token.Kind != TokenKind.Identifier)
        {
            throw Expected("a field name or '('");
        }
        Advance();
        return ParseCondition(ResolveField(token));
    }

    /// <summary>What follows a field name; nothing that can start a comparison makes a bare Bool field.</summary>
    private FilterExpression ParseCondition(FilterField field)
    {
        var token = Current;
        if (token.Kind == TokenKind.Operator)
        {
            Advance();
            var op = ToOperator(token.Text);
            if (field.Type == FilterType.Bool && op is not (FilterOperator.Equal or FilterOperator.NotEqual))
            {
                throw Error($"operator '{token.Text}' does not apply to bool field '{field.Name}' (use = or !=)", token);
            }
            return new FilterComparison(field, op, ParseValue(field));
        }
        if (token.Kind == TokenKind.Keyword)
        {
            switch (token.Text)
            {
                case "is":
                    Advance();
                    var negated = Current.IsKeyword("not");
                    if (negated)
                    {
                        Advance();
                    }
                    if (!Current.IsKeyword("null"))
                    {
                        throw Expected("'null'");
                    }
                    Advance();
                    return new FilterIsNull(field, negated);
                case "not":
                    Advance();
                    if (!(Current.IsKeyword("in") || Current.IsKeyword("like") || Current.IsKeyword("between")))
                    {
                        throw Expected("'in', 'like' or 'between'");
                    }
                    return ParseSetOrPattern(field, negated: true);
                case "in" or "like" or "between":
                    return ParseSetOrPattern(field, negated: false);
            }
        }
        if (field.Type == FilterType.Bool)
        {
            return new FilterComparison(field, FilterOperator.Equal, FilterLiteral.Bool(true));
        }
        var like = field.Type == FilterType.Text ? ", like" : "";
        throw Expected($"an operator (=, !=, <, <=, >, >=, in, between{like} or is)");
    }

    /// <summary><c>in</c>, <c>between</c> or <c>like</c>, the current token, after an optional <c>not</c>.</summary>
    private FilterExpression ParseSetOrPattern(FilterField field, bool negated)
    {
        var keyword = Advance();
        switch (keyword.Text)
        {
            case "in":
                var open = Current;
                if (open.Kind != TokenKind.LeftParen)
                {
                    throw Expected("'('");
                }
                Advance();
                var values = ImmutableArray.CreateBuilder<FilterLiteral>();
                values.Add(ParseValue(field));
                while (Current.Kind == TokenKind.Comma)
                {
                    Advance();
                    values.Add(ParseValue(field));
                }
                ExpectClosing(open, "',' or ')'");
                return new FilterIn(field, values.ToImmutable(), negated);
            case "between":
                if (field.Type == FilterType.Bool)
                {
                    throw Error($"'between' does not apply to bool field '{field.Name}'", keyword);
                }
                var low = ParseValue(field);
                if (!Current.IsKeyword("and"))
                {
                    throw Expected("'and'");
                }
                Advance();
                return new FilterBetween(field, low, ParseValue(field), negated);
            default:
                if (field.Type != FilterType.Text)
                {
                    throw Error($"'like' needs a text field; '{field.Name}' is {WithArticle(field.Type)} field", keyword);
                }
                return new FilterLike(field, (string)ParseValue(field).Value, negated);
        }
    }

    /// <summary>A literal for <paramref name="field"/>, checked against its type.</summary>
    private FilterLiteral ParseValue(FilterField field)
    {
        var token = Current;
        var literal = token switch
        {
            { Kind: TokenKind.Number, Value: long n } when field.Type == FilterType.Number => FilterLiteral.Number(n),
            { Kind: TokenKind.Number, Value: double d } when field.Type == FilterType.Number => FilterLiteral.Number(d),
            { Kind: TokenKind.String, Value: string s } when field.Type == FilterType.Text => FilterLiteral.Text(s),
            { Kind: TokenKind.String, Value: string s } when field.Type == FilterType.Timestamp => ParseTimestamp(s, token),
            { Kind: TokenKind.Keyword, Text: "true" or "false" } when field.Type == FilterType.Bool =>
                FilterLiteral.Bool(token.Text == "true"),
            _ => null,
        };
        if (literal is null)
        {
            throw token switch
            {
                { Kind: TokenKind.Number or TokenKind.String } or { Kind: TokenKind.Keyword, Text: "true" or "false" } =>
                    TypeMismatch(field, token),
                { Kind: TokenKind.Keyword, Text: "null" } =>
                    Error("null can only be tested with 'is null' or 'is not null'", token),
                { Kind: TokenKind.Identifier } when _schema.TryGetField(token.Text, out _) =>
                    Error($"expected a value but found field '{token.Text}' (fields can only be compared with values)", token),
                _ => Expected("a value"),
            };
        }
        Advance();
        return literal;
    }

    private FilterLiteral ParseTimestamp(string text, Token token) =>
        DateTime.TryParseExact(text.ToUpperInvariant(), TimestampFormats, CultureInfo.InvariantCulture,
            DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out var value)
            ? FilterLiteral.Timestamp(value)
            : throw Error($"invalid timestamp {token.Text} (expected ISO-8601, e.g. '2026-01-31' or '2026-01-31T12:00:00Z')", token);

    private FilterException TypeMismatch(FilterField field, Token token)
    {
        var found = token.Kind switch
        {
            TokenKind.Number => "a number",
            TokenKind.String => "text",
            _ => "a bool",
        };
        var hint = field.Type switch
        {
            FilterType.Number => "",
            FilterType.Text => " (text is written in single quotes)",
            FilterType.Bool => " (use true or false)",
            _ => " (write timestamps as '2026-01-31' or '2026-01-31T12:00:00Z')",
        };
        return Error($"type mismatch: '{field.Name}' is {WithArticle(field.Type)} field but {token.Text} is {found}{hint}", token);
    }

    private static string WithArticle(FilterType type) => type switch
    {
        FilterType.Number => "a number",
        FilterType.Text => "a text",
        FilterType.Bool => "a bool",
        _ => "a timestamp",
    };

    private FilterField ResolveField(Token token)
    {
        if (_schema.TryGetField(token.Text, out var field))
        {
            return field;
        }
        var suggestions = _schema.Suggest(token.Text);
        var help = suggestions.Count > 0
            ? $"did you mean {JoinAlternatives(suggestions.Select(f => $"'{f.Name}'").ToList())}?"
            : $"known fields: {string.Join(", ", _schema.Fields.Select(f => f.Name))}";
        throw Error($"unknown field '{token.Text}' ({help})", token);
    }

    private static string JoinAlternatives(IReadOnlyList<string> items) =>
        items.Count == 1 ? items[0] : $"{string.Join(", ", items.Take(items.Count - 1))} or {items[^1]}";

    private static FilterOperator ToOperator(string text) => text switch
    {
        "=" or "==" => FilterOperator.Equal,
        "!=" or "<>" => FilterOperator.NotEqual,
        "<" => FilterOperator.Less,
        "<=" => FilterOperator.LessOrEqual,
        ">" => FilterOperator.Greater,
        ">=" => FilterOperator.GreaterOrEqual,
        _ => throw new InvalidOperationException($"Unknown operator token '{text}'."),
    };

    private void CheckDepth(Token token, int depth)
    {
        if (depth > FilterExpression.MaxDepth)
        {
            throw Error($"filter nests too deeply (at most {FilterExpression.MaxDepth} levels of parentheses and 'not')", token);
        }
    }

    /// <summary>Consumes the ')' that closes <paramref name="open"/>.</summary>
    private void ExpectClosing(Token open, string expected)
    {
        if (Current.Kind == TokenKind.RightParen)
        {
            Advance();
            return;
        }
        throw Current.Kind == TokenKind.End
            ? Error("unbalanced parentheses: this '(' is never closed", open)
            : Expected(expected);
    }

    private void ExpectEnd()
    {
        var token = Current;
        if (token.Kind == TokenKind.End)
        {
            return;
        }
        throw token.Kind == TokenKind.RightParen
            ? Error("unbalanced parentheses: this ')' has no matching '('", token)
            : Error($"unexpected {token.Describe()} after a complete condition (expected 'and', 'or' or the end)", token);
    }

    private Token Advance() => _tokens[_index++];

    /// <summary>An error at the current token, which is not <paramref name="what"/> the grammar needs there.</summary>
    private FilterException Expected(string what)
    {
        var found = Current;
        var after = _index > 0 ? $" after {_tokens[_index - 1].Describe()}" : "";
        return found.Kind == TokenKind.End
            ? Error($"unexpected end of filter: expected {what}{after}", found)
            : Error($"expected {what}{after} but found {found.Describe()}", found);
    }

    private FilterException Error(string reason, Token token) => new(reason, _text, token.Position, token.Length);
}
