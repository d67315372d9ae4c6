using Concerto.Ingest.Core.Datasets.Filter;
using static Concerto.Ingest.Core.Tests.Datasets.FilterTestSchema;

namespace Concerto.Ingest.Core.Tests.Datasets;

public class FilterErrorTests
{
    [Fact]
    public void UnknownField_ShowsColumnSuggestionAndCaret()
    {
        const string text = "points > 30 and coverge_min >= 0.3";

        var e = Error(text);

        Assert.Equal(
            "filter error at column 17: unknown field 'coverge_min' (did you mean 'coverage_min'?)\n" +
            "points > 30 and coverge_min >= 0.3\n" +
            "                ^^^^^^^^^^^",
            e.Message);
        Assert.Equal((16, 11, 17, text), (e.Position, e.Length, e.Column, e.Expression));
    }

    [Theory]
    [InlineData("ponits > 1", "'points'")]
    [InlineData("Method = 'a' and methdo = 'b'", "'method'")]
    [InlineData("coverage > 0.1", "'coverage_min' or 'coverage_mean'")]
    [InlineData("floor_found", "'scene.floor_found'")]
    [InlineData("source.pth like 'a'", "'source.path'")]
    public void UnknownField_SuggestsCloseNames(string text, string suggestion)
    {
        Assert.EndsWith($"(did you mean {suggestion}?)", Error(text).Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void UnknownField_ListsTheKnownFields_WhenNothingIsClose()
    {
        var e = Error("resolution > 1080");

        Assert.Equal(
            "unknown field 'resolution' (known fields: coverage_min, coverage_mean, points, metrics.visible_fraction_min, " +
            "source.path, method, scene.floor_found, created_at)",
            e.Reason);
        Assert.Equal(0, e.Position);
    }

    [Theory]
    [InlineData("points > 3 method = 'a'", 11, "unexpected 'method' after a complete condition")]
    [InlineData("points > 3 and and method = 'a'", 15, "expected a field name or '(' after 'and' but found 'and'")]
    [InlineData("> 3", 0, "expected a field name or '(' but found '>'")]
    [InlineData("points 3", 7, "expected an operator (=, !=, <, <=, >, >=, in, between or is) after 'points' but found '3'")]
    [InlineData("method in 'a'", 10, "expected '(' after 'in' but found 'a'")]
    [InlineData("points between 1 or 2", 17, "expected 'and' after '1' but found 'or'")]
    [InlineData("points is 3", 10, "expected 'null' after 'is' but found '3'")]
    [InlineData("method not = 'a'", 11, "expected 'in', 'like' or 'between' after 'not' but found '='")]
    [InlineData("points > coverage_min", 9, "expected a value but found field 'coverage_min'")]
    [InlineData("points > 3 && points < 5", 11, "unexpected character '&' (use 'and')")]
    [InlineData("method = \"a\"", 9, "strings are written in single quotes")]
    [InlineData("points > 12abc", 9, "invalid number '12abc'")]
    [InlineData("points > 1e999", 9, "number '1e999' is out of range")]
    public void UnexpectedToken_PointsAtIt(string text, int position, string reason)
    {
        var e = Error(text);

        Assert.StartsWith(reason, e.Reason, StringComparison.Ordinal);
        Assert.Equal(position, e.Position);
        Assert.EndsWith("\n" + new string(' ', position) + new string('^', e.Length), e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void UnterminatedString_PointsAtTheOpeningQuote()
    {
        var e = Error("method = 'posed and points > 3");

        Assert.StartsWith("filter error at column 10: unterminated string", e.Message, StringComparison.Ordinal);
        Assert.Equal((9, 21), (e.Position, e.Length));
    }

    [Theory]
    [InlineData("points >=", "unexpected end of filter: expected a value after '>='")]
    [InlineData("points > 3 and", "unexpected end of filter: expected a field name or '(' after 'and'")]
    [InlineData("not", "unexpected end of filter: expected a field name or '(' after 'not'")]
    [InlineData("method in ('a',", "unexpected end of filter: expected a value after ','")]
    [InlineData("points", "unexpected end of filter: expected an operator (=, !=, <, <=, >, >=, in, between or is) after 'points'")]
    public void UnexpectedEnd_PointsJustPastTheText(string text, string reason)
    {
        var e = Error(text);

        Assert.Equal(reason, e.Reason);
        Assert.Equal(text.Length, e.Position);
        Assert.Equal(new string(' ', text.Length) + "^", e.Message.Split('\n')[2]);
    }

    [Theory]
    [InlineData("(points > 3 and (method = 'a')", 0, "unbalanced parentheses: this '(' is never closed")]
    [InlineData("method in ('a', 'b'", 10, "unbalanced parentheses: this '(' is never closed")]
    [InlineData("(points > 3)) or method = 'a'", 12, "unbalanced parentheses: this ')' has no matching '('")]
    [InlineData("(points > 3 method = 'a')", 12, "expected 'and', 'or' or ')' after '3' but found 'method'")]
    [InlineData("()", 1, "expected a field name or '(' after '(' but found ')'")]
    public void UnbalancedParentheses_PointAtTheUnmatchedOne(string text, int position, string reason)
    {
        var e = Error(text);

        Assert.Equal(reason, e.Reason);
        Assert.Equal(position, e.Position);
    }

    [Theory]
    [InlineData("points > 'abc'", 9, "type mismatch: 'points' is a number field but 'abc' is text")]
    [InlineData("method > 3", 9, "type mismatch: 'method' is a text field but 3 is a number (text is written in single quotes)")]
    [InlineData("scene.floor_found = 3", 20, "type mismatch: 'scene.floor_found' is a bool field but 3 is a number (use true or false)")]
    [InlineData("created_at > 2026", 13, "type mismatch: 'created_at' is a timestamp field but 2026 is a number")]
    [InlineData("method in ('a', true)", 16, "type mismatch: 'method' is a text field but true is a bool")]
    [InlineData("points between 1 and 'z'", 21, "type mismatch: 'points' is a number field but 'z' is text")]
    [InlineData("source.path like 5", 17, "type mismatch: 'source.path' is a text field but 5 is a number")]
    [InlineData("created_at < '2026-13-01'", 13, "invalid timestamp '2026-13-01' (expected ISO-8601")]
    [InlineData("points = null", 9, "null can only be tested with 'is null' or 'is not null'")]
    [InlineData("points like '1%'", 7, "'like' needs a text field; 'points' is a number field")]
    [InlineData("scene.floor_found > false", 18, "operator '>' does not apply to bool field 'scene.floor_found' (use = or !=)")]
    [InlineData("scene.floor_found between true and false", 18, "'between' does not apply to bool field 'scene.floor_found'")]
    public void TypeErrors_PointAtTheOffendingLiteralOrOperator(string text, int position, string reason)
    {
        var e = Error(text);

        Assert.StartsWith(reason, e.Reason, StringComparison.Ordinal);
        Assert.Equal(position, e.Position);
    }

    [Theory]
    [InlineData("")]
    [InlineData("   \t ")]
    public void Empty_IsAnError(string text)
    {
        var e = Error(text);

        Assert.Equal("empty filter", e.Reason);
        Assert.Equal(0, e.Position);
    }

    [Fact]
    public void Length_IsLimited()
    {
        var atLimit = "points > 1" + new string(' ', FilterExpression.MaxLength - 10);
        Assert.Equal("points > 1", Parse(atLimit).ToString());

        var e = Error(atLimit + " ");
        Assert.Equal("filter is too long (4001 characters; at most 4000)", e.Reason);
        Assert.Equal(FilterExpression.MaxLength, e.Position);
    }

    [Fact]
    public void Message_ShowsAWindowOfALongExpression_WithTheCaretUnderTheError()
    {
        var text = string.Concat(Enumerable.Repeat("points > 1 and ", 20)) + "zzz > 1 and " +
            string.Concat(Enumerable.Repeat("points > 1 and ", 20)) + "points > 1";

        var lines = Error(text).Message.Split('\n');

        Assert.True(lines[1].Length <= 106, lines[1]);
        Assert.StartsWith("...", lines[1], StringComparison.Ordinal);
        Assert.EndsWith("...", lines[1], StringComparison.Ordinal);
        Assert.Equal("zzz", lines[1].Substring(lines[2].IndexOf('^', StringComparison.Ordinal), 3));
        Assert.Equal("^^^", lines[2].TrimStart());
    }

    [Fact]
    public void Depth_IsLimited()
    {
        static string Nested(int depth) => new string('(', depth) + "points > 1" + new string(')', depth);

        Assert.Equal("points > 1", Parse(Nested(FilterExpression.MaxDepth)).ToString());
        var e = Error(Nested(FilterExpression.MaxDepth + 1));
        Assert.StartsWith("filter nests too deeply", e.Reason, StringComparison.Ordinal);
        Assert.Equal(FilterExpression.MaxDepth, e.Position);

        var nots = string.Concat(Enumerable.Repeat("not ", FilterExpression.MaxDepth + 1)) + "scene.floor_found";
        Assert.Equal(FilterExpression.MaxDepth * 4, Error(nots).Position);
    }

    [Fact]
    public void Message_ShowsControlCharactersAsSpaces_SoTheCaretLinesUp()
    {
        var lines = Error("points > 1 and\n\tfoo > 2").Message.Split('\n');

        Assert.Equal("points > 1 and  foo > 2", lines[1]);
        Assert.Equal("                ^^^", lines[2]);
    }
}
