using Concerto.Ingest.Core.Datasets.Filter;
using static Concerto.Ingest.Core.Tests.Datasets.FilterTestSchema;

namespace Concerto.Ingest.Core.Tests.Datasets;

/// <summary>Filters written to break out of the language: SQL outside strings, quote tricks inside them, look-alike
/// characters, and inputs sized to exhaust the parser. Each is either refused with a positioned error, or parsed into
/// SQL whose only text comes from the schema and fixed keywords, with the attacker's text as one bound parameter.</summary>
public class FilterInjectionTests
{
    public static TheoryData<string, int, string> SqlOutsideStrings => new()
    {
        { "label = \"a\\\"; DROP TABLE segments; --\"", 8, "strings are written in single quotes" },
        { "label = 'a''; DROP TABLE segments; --'", 0, "unknown field 'label'" },
        { "method = \"a\\\"; DROP TABLE segments; --\"", 9, "strings are written in single quotes" },
        { "pg_sleep(5)", 0, "unknown field 'pg_sleep'" },
        { "points > 0 or pg_sleep(5) is null", 14, "unknown field 'pg_sleep'" },
        { "1=1; DELETE FROM segments", 3, "unexpected character ';'" },
        { "1=1 or points > 0", 0, "expected a field name or '(' but found '1'" },
        { "points > 0; DELETE FROM segments", 10, "unexpected character ';'" },
        { "points > 0 -- comment", 11, "unexpected character '-'" },
        { "points > 0 /* comment */", 11, "unexpected character '/'" },
        { "points > (SELECT 0)", 9, "expected a value after '>' but found '('" },
        { "points > 0 union select 1", 11, "unexpected 'union' after a complete condition" },
        { "method = $$x$$", 9, "unexpected character '$'" },
        { "method = E'\\x27'", 9, "expected a value after '=' but found 'E'" },
        { "points::text = '1'", 6, "unexpected character ':'" },
        { "s.point_count > 0", 0, "unknown field 's.point_count'" },
        { "points > $1", 9, "unexpected character '$'" },
        { "method = 'a' || 'b'", 13, "unexpected character '|' (use 'or')" },
        { "points > 0 and true", 15, "expected a field name or '(' after 'and' but found 'true'" },
        { "(points > 0) or (1 = 1)", 17, "expected a field name or '(' after '(' but found '1'" },
        { "points > 0 or source.path = source.path", 28, "expected a value but found field 'source.path'" },
        { "method = 'x' ' OR 1=1 --'", 13, "unexpected ' OR 1=1 --' after a complete condition" },
        { "method = 'x'' OR 1=1 --", 9, "unterminated string" },
        { "method = 'x\\' OR 1=1 --'", 21, "unexpected character '-'" }, // a backslash escapes nothing
        { "method = 'x\\' OR 1=1", 17, "expected a field name or '(' after 'or' but found '1'" },
    };

    [Theory]
    [MemberData(nameof(SqlOutsideStrings))]
    public void Parse_RefusesSqlOutsideStrings_AtTheOffendingToken(string text, int position, string reason)
    {
        var e = Error(text);

        Assert.StartsWith(reason, e.Reason, StringComparison.Ordinal);
        Assert.Equal(position, e.Position);
    }

    public static TheoryData<string> HostileStrings => new()
    {
        "x'; DROP TABLE segments; --",
        "x' OR 1=1 --",
        "x\\'; DROP TABLE segments; --",
        "'||pg_sleep(5)||'",
        "%' OR '1'='1",
        ")) OR ((1=1",
        "$1",
        "$$; DELETE FROM segments; $$",
        "E'\\x27",
        "\"; DROP TABLE segments; --",
        "ｘ＇ OR 1=1 --", // fullwidth x and apostrophe
        "x\u2019 OR 1=1 --", // right single quotation mark
        "\u202Egnp.x", // right-to-left override
        "a\u200Bb", // zero-width space
        "🎥' OR 1=1 --", // a surrogate pair
        "line\nbreak\ttab\r",
    };

    [Theory]
    [MemberData(nameof(HostileStrings))]
    public void ToSql_BindsAHostileStringAsOneParameter(string value)
    {
        var text = $"source.path = '{value.Replace("'", "''", StringComparison.Ordinal)}' or method like '{value.Replace("'", "''", StringComparison.Ordinal)}'";

        var sql = Sql(text);

        Assert.Equal("((v.path = $1) OR (s.method LIKE $2))", sql.Where);
        Assert.Equal([value, value], sql.Parameters);
        // The canonical text (what a version records) reads back to the same filter.
        Assert.Equal(Parse(text), Parse(Parse(text).ToString()));
    }

    [Fact]
    public void ToSql_TakesFieldSqlOnlyFromTheSchema_WhateverTheCaseOfTheName()
    {
        foreach (var field in Schema.Fields)
        {
            var value = field.Type switch
            {
                FilterType.Number => "1",
                FilterType.Text => "'a'",
                FilterType.Bool => "true",
                _ => "'2026-01-31'",
            };
            var sql = Sql($"{field.Name.ToUpperInvariant()} = {value}");
            var column = field.Sql.All(c => char.IsAsciiLetterOrDigit(c) || c is '_' or '.') ? field.Sql : $"({field.Sql})";
            Assert.Equal($"({column} = $1)", sql.Where);
            Assert.Single(sql.Parameters);
        }
    }

    [Theory]
    [InlineData("source.path = 'a\0b'", 16, "the filter holds a NUL character (U+0000)")]
    [InlineData("points > 1 and \0", 15, "the filter holds a NUL character (U+0000)")]
    [InlineData("points\u200B > 1", 6, "unexpected character U+200B")] // zero-width space
    [InlineData("p\u03BFints > 1", 1, "unexpected character U+03BF")] // Greek omicron for 'o'
    [InlineData("points \uFF1E 1", 7, "unexpected character U+FF1E")] // fullwidth '>'
    [InlineData("points > \uFF11", 9, "unexpected character U+FF11")] // fullwidth '1'
    [InlineData("source.path = \uFF07x\uFF07 or 1 = 1", 14, "unexpected character U+FF07")] // fullwidth apostrophe
    [InlineData("source.path = \u2018x\u2019", 14, "unexpected character U+2018")] // curly quotes
    [InlineData("points > 1 \u037E DELETE", 11, "unexpected character U+037E")] // Greek question mark, looks like ';'
    [InlineData("points > 1 and 🎥", 15, "unexpected character U+1F3A5")]
    public void Parse_RefusesUnicodeTricks_NamingTheCodePoint(string text, int position, string reason)
    {
        var e = Error(text);

        Assert.StartsWith(reason, e.Reason, StringComparison.Ordinal);
        Assert.Equal(position, e.Position);
        Assert.DoesNotContain('\0', e.Message);
    }

    [Fact]
    public void Parse_RefusesUnpairedSurrogates()
    {
        // Not theory data: attribute strings are stored as UTF-8, which cannot hold an unpaired surrogate.
        foreach (var (text, position, code) in new[]
                 {
                     ("source.path = '\uD800'", 15, "D800"), ("source.path = 'a\uDC00'", 16, "DC00"),
                     ("source.path = '\uDC00\uD800'", 15, "DC00"), ("points > 1 and \uD83C", 15, "D83C"),
                 })
        {
            var e = Error(text);
            Assert.Equal($"the filter holds an unpaired UTF-16 surrogate (U+{code}), which is not text", e.Reason);
            Assert.Equal(position, e.Position);
        }
    }

    [Fact]
    public void Parse_UnicodeWhitespace_SeparatesTokens()
    {
        Assert.Equal("points > 1 and method = 'a'", Parse("points\u00A0>\u20031\u2028and\u3000method = 'a'").ToString());
    }

    [Theory]
    [InlineData(100_000)]
    [InlineData(1_000_000)]
    public void Parse_HugeInput_IsRefusedAsTooLong_BeforeParsing(int length)
    {
        foreach (var text in new[] { new string('(', length), new string('\'', length), string.Concat(Enumerable.Repeat("not ", length / 4)) })
        {
            var e = Error(text);
            Assert.StartsWith("filter is too long", e.Reason, StringComparison.Ordinal);
            Assert.True(e.Message.Length < 400, $"{e.Message.Length} characters of message");
        }
    }

    [Fact]
    public void Parse_DeepNestingWithinTheLength_IsAnError_NotAStackOverflow()
    {
        var parentheses = new string('(', FilterExpression.MaxLength);
        var e = Error(parentheses);
        Assert.StartsWith("filter nests too deeply", e.Reason, StringComparison.Ordinal);
        Assert.Equal(FilterExpression.MaxDepth, e.Position);

        var mixed = string.Concat(Enumerable.Repeat("not (", FilterExpression.MaxLength / 5));
        Assert.StartsWith("filter nests too deeply", Error(mixed).Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void Parse_LongestChains_ParseFormatAndCompare()
    {
        // 'or' and 'and' chains build trees as deep as they are long (no depth limit applies): the longest the length
        // allows must still parse, print, emit SQL and compare without exhausting the stack.
        foreach (var joiner in new[] { " or ", " and " })
        {
            var parts = new List<string>();
            while ((parts.Count + 1) * ("points > 1".Length + joiner.Length) < FilterExpression.MaxLength) parts.Add("points > 1");
            var text = string.Join(joiner, parts);

            var filter = Parse(text);

            Assert.Equal(text, filter.ToString());
            Assert.Equal(parts.Count, filter.ToSql().Parameters.Count);
            Assert.Equal(filter, Parse(text));
            Assert.Equal(filter.GetHashCode(), Parse(text).GetHashCode());
        }
    }
}
