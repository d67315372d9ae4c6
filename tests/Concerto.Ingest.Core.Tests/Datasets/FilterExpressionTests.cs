using Concerto.Ingest.Core.Datasets.Filter;
using static Concerto.Ingest.Core.Tests.Datasets.FilterTestSchema;

namespace Concerto.Ingest.Core.Tests.Datasets;

public class FilterExpressionTests
{
    private const string Example =
        "coverage_min >= 0.3 and points > 20000 and (source.path like '%room%' or not scene.floor_found) " +
        "and method in ('posed', 'vggt')";

    [Fact]
    public void ToSql_ParameterisesEveryLiteral_ForTheDocumentedExample()
    {
        var sql = Sql(Example);

        Assert.Equal(
            "((((s.coverage_min >= $1) AND (s.point_count > $2)) AND ((v.path LIKE $3) OR (NOT (s.floor_found = $4))))" +
            " AND (s.method IN ($5, $6)))",
            sql.Where);
        Assert.Equal([0.3, 20000L, "%room%", true, "posed", "vggt"], sql.Parameters);
    }

    [Fact]
    public void ToSql_KeepsLiteralsOutOfTheSqlText()
    {
        var sql = Sql("method = 'x''; drop table segments; --' or source.path like '%'' or 1=1 --'");

        Assert.Equal("((s.method = $1) OR (v.path LIKE $2))", sql.Where);
        Assert.Equal(["x'; drop table segments; --", "%' or 1=1 --"], sql.Parameters);
        Assert.DoesNotContain("drop", sql.Where, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("'", sql.Where, StringComparison.Ordinal);
    }

    [Fact]
    public void ToSql_TakesNoLiteralValueIntoTheSqlText_ForAnyOperator()
    {
        var sql = Sql("points between 123456 and 654321 and coverage_mean != 0.777 and created_at < '2026-01-31' " +
            "and method not in ('alpha') and source.path not like 'beta%'");

        foreach (var literal in new[] { "123456", "654321", "0.777", "2026", "alpha", "beta" })
        {
            Assert.DoesNotContain(literal, sql.Where, StringComparison.Ordinal);
        }
        Assert.Equal(6, sql.Parameters.Count);
    }

    [Fact]
    public void ToSql_NumbersParametersFromTheGivenIndex()
    {
        var sql = Sql("points > 1 and method in ('a', 'b')", firstParameterIndex: 4);

        Assert.Equal("((s.point_count > $4) AND (s.method IN ($5, $6)))", sql.Where);
        Assert.Equal(3, sql.Parameters.Count);
        Assert.Throws<ArgumentOutOfRangeException>(() => Parse("points > 1").ToSql(0));
    }

    [Fact]
    public void ToSql_ParenthesisesFieldSqlThatIsNotAPlainColumn()
    {
        Assert.Equal("(((s.metrics->>'visible_fraction_min')::double precision) < $1)",
            Sql("metrics.visible_fraction_min < 0.5").Where);
    }

    [Fact]
    public void Parse_BindsAndTighterThanOr()
    {
        var expression = Parse("points > 1 or points > 2 and points > 3");

        var or = Assert.IsType<FilterOr>(expression);
        Assert.IsType<FilterComparison>(or.Left);
        Assert.IsType<FilterAnd>(or.Right);
        Assert.Equal("((s.point_count > $1) OR ((s.point_count > $2) AND (s.point_count > $3)))", expression.ToSql().Where);
    }

    [Fact]
    public void Parse_BindsNotTighterThanAnd()
    {
        var and = Assert.IsType<FilterAnd>(Parse("not scene.floor_found and points > 3"));

        Assert.IsType<FilterNot>(and.Left);
        Assert.IsType<FilterComparison>(and.Right);
    }

    [Fact]
    public void Parse_LetsParenthesesOverridePrecedence()
    {
        var expression = Parse("(points > 1 or points > 2) and not (points > 3 and points < 9)");

        var and = Assert.IsType<FilterAnd>(expression);
        Assert.IsType<FilterOr>(and.Left);
        Assert.IsType<FilterAnd>(Assert.IsType<FilterNot>(and.Right).Operand);
        Assert.Equal("(points > 1 or points > 2) and not (points > 3 and points < 9)", expression.ToString());
    }

    [Fact]
    public void Parse_GroupsChainsFromTheLeft()
    {
        var outer = Assert.IsType<FilterOr>(Parse("points = 1 or points = 2 or points = 3"));

        Assert.IsType<FilterOr>(outer.Left);
        Assert.Equal(new FilterComparison(Schema.Fields[2], FilterOperator.Equal, FilterLiteral.Number(3L)), outer.Right);
    }

    [Theory]
    [InlineData("=", "=", "=")]
    [InlineData("==", "=", "=")]
    [InlineData("!=", "<>", "!=")]
    [InlineData("<>", "<>", "!=")]
    [InlineData("<", "<", "<")]
    [InlineData("<=", "<=", "<=")]
    [InlineData(">", ">", ">")]
    [InlineData(">=", ">=", ">=")]
    public void Parse_ReadsEveryComparisonOperator(string op, string sqlOp, string canonicalOp)
    {
        var expression = Parse($"points{op}5");

        Assert.Equal($"(s.point_count {sqlOp} $1)", expression.ToSql().Where);
        Assert.Equal($"points {canonicalOp} 5", expression.ToString());
    }

    [Fact]
    public void Parse_AllowsOrderingOnTextAndTimestampFields()
    {
        Assert.Equal("((s.method >= $1) AND (s.created_at < $2))", Sql("method >= 'p' and created_at < '2026-02-01'").Where);
    }

    [Theory]
    [InlineData("method in ('posed', 'vggt')", "(s.method IN ($1, $2))", false)]
    [InlineData("method NOT IN ('posed','vggt')", "(s.method NOT IN ($1, $2))", true)]
    public void Parse_ReadsInLists(string text, string where, bool negated)
    {
        var expression = Assert.IsType<FilterIn>(Parse(text));

        Assert.Equal(negated, expression.Negated);
        Assert.Equal(where, expression.ToSql().Where);
        Assert.Equal(["posed", "vggt"], expression.ToSql().Parameters);
    }

    [Theory]
    [InlineData("points between 10 and 20", "(s.point_count BETWEEN $1 AND $2)")]
    [InlineData("points not between 10 and 20", "(s.point_count NOT BETWEEN $1 AND $2)")]
    public void Parse_ReadsBetween(string text, string where)
    {
        var sql = Sql(text);

        Assert.Equal(where, sql.Where);
        Assert.Equal([10L, 20L], sql.Parameters);
    }

    [Fact]
    public void Parse_KeepsTheBetweenAndApartFromTheLogicalAnd()
    {
        var and = Assert.IsType<FilterAnd>(Parse("points between 1 and 2 and method = 'x'"));

        Assert.IsType<FilterBetween>(and.Left);
    }

    [Theory]
    [InlineData("source.path like '%room_1%'", "(v.path LIKE $1)")]
    [InlineData("source.path not like '%room_1%'", "(v.path NOT LIKE $1)")]
    public void Parse_PassesLikeWildcardsThroughAsAParameter(string text, string where)
    {
        var sql = Sql(text);

        Assert.Equal(where, sql.Where);
        Assert.Equal(["%room_1%"], sql.Parameters);
    }

    [Theory]
    [InlineData("points is null", "(s.point_count IS NULL)")]
    [InlineData("points IS NOT NULL", "(s.point_count IS NOT NULL)")]
    public void Parse_ReadsIsNullWithoutParameters(string text, string where)
    {
        var sql = Sql(text);

        Assert.Equal(where, sql.Where);
        Assert.Empty(sql.Parameters);
    }

    [Fact]
    public void Parse_ReadsABareBoolFieldAsEqualToTrue()
    {
        var bare = Parse("scene.floor_found");

        Assert.Equal(Parse("scene.floor_found = true"), bare);
        Assert.Equal("(s.floor_found = $1)", bare.ToSql().Where);
        Assert.Equal([true], bare.ToSql().Parameters);
        Assert.Equal([false], Sql("scene.floor_found != FALSE").Parameters);
    }

    [Theory]
    [InlineData("3", 3L)]
    [InlineData("-3", -3L)]
    [InlineData("0.25", 0.25)]
    [InlineData("-.5", -0.5)]
    [InlineData("1e3", 1000.0)]
    [InlineData("-2.5E-1", -0.25)]
    [InlineData("3.0", 3.0)]
    [InlineData("99999999999999999999", 1e20)]
    public void Parse_PassesIntegersAsLongAndOtherNumbersAsDouble(string literal, object expected)
    {
        var parameter = Assert.Single(Sql($"points = {literal}").Parameters);

        Assert.Equal(expected.GetType(), parameter.GetType());
        Assert.Equal(expected, parameter);
    }

    [Fact]
    public void Parse_UnescapesDoubledQuotesInStrings()
    {
        Assert.Equal(["it's"], Sql("method = 'it''s'").Parameters);
    }

    [Theory]
    [InlineData("'2026-01-31'", "2026-01-31T00:00:00")]
    [InlineData("'2026-01-31T12:30:00Z'", "2026-01-31T12:30:00")]
    [InlineData("'2026-01-31T12:30:00.25+02:00'", "2026-01-31T10:30:00.25")]
    [InlineData("'2026-01-31 12:30'", "2026-01-31T12:30:00")]
    public void Parse_PassesTimestampsAsUtcDateTimes(string literal, string expectedUtc)
    {
        var value = Assert.IsType<DateTime>(Assert.Single(Sql($"created_at >= {literal}").Parameters));

        Assert.Equal(DateTimeKind.Utc, value.Kind);
        Assert.Equal(DateTime.Parse(expectedUtc, System.Globalization.CultureInfo.InvariantCulture), value);
    }

    [Theory]
    [InlineData("POINTS > 3 AND Source.Path LIKE 'a%'", "points > 3 and source.path like 'a%'")]
    [InlineData("  points>3   or(method=='x')", "points > 3 or method = 'x'")]
    [InlineData("points <> 3 and (points > 1 and points < 9)", "points != 3 and points > 1 and points < 9")]
    [InlineData("(points > 1 or points > 2) and method = 'a'", "(points > 1 or points > 2) and method = 'a'")]
    [InlineData("not not (scene.floor_found)", "not not scene.floor_found")]
    [InlineData("scene.floor_found == TRUE", "scene.floor_found")]
    [InlineData("not (points > 1 or points is null)", "not (points > 1 or points is null)")]
    [InlineData("created_at between '2026-01-31' and '2026-02-01T08:00:00.5+01:00'",
        "created_at between '2026-01-31T00:00:00Z' and '2026-02-01T07:00:00.5Z'")]
    [InlineData("coverage_min in (1, 2.50, 1e-7) and method not in ('o''k')",
        "coverage_min in (1, 2.5, 1E-07) and method not in ('o''k')")]
    [InlineData("points > 3.0 and points is NOT null", "points > 3.0 and points is not null")]
    public void ToString_GivesTheCanonicalForm(string text, string canonical)
    {
        Assert.Equal(canonical, Parse(text).ToString());
    }

    [Theory]
    [InlineData(Example)]
    [InlineData("not (points > 1 or points is null) and scene.floor_found != false")]
    [InlineData("created_at not between '2026-01-31' and '2026-02-01T08:00:00+01:00' or method like '%''%'")]
    [InlineData("coverage_min in (-0.0, 3, 3.0, 1e300, 0.1) or metrics.visible_fraction_min < 1E-3")]
    public void ToString_ParsesBackToTheSameFilter(string text)
    {
        var parsed = Parse(text);
        var reparsed = Parse(parsed.ToString());

        Assert.Equal(parsed.ToString(), reparsed.ToString());
        Assert.Equal(parsed.ToSql(), reparsed.ToSql(), new FilterSqlComparer());
    }

    [Fact]
    public void Parse_GivesEqualTrees_ForTheSameFilterWrittenDifferently()
    {
        var a = Parse("method IN ('posed','vggt') and points >= 10");
        var b = Parse("(Method in ( 'posed' , 'vggt' )) AND points>=10");

        Assert.Equal(a, b);
        Assert.Equal(a.GetHashCode(), b.GetHashCode());
        Assert.NotEqual(a, Parse("method in ('vggt', 'posed') and points >= 10"));
    }

    [Fact]
    public void Schema_RejectsKeywordsDuplicatesAndInvalidNames()
    {
        Assert.Throws<ArgumentException>(() => new FilterSchema([new FilterField("in", "x", FilterType.Text)]));
        Assert.Throws<ArgumentException>(() => new FilterSchema([new FilterField("a..b", "x", FilterType.Text)]));
        Assert.Throws<ArgumentException>(() => new FilterSchema([new FilterField("a b", "x", FilterType.Text)]));
        Assert.Throws<ArgumentException>(() => new FilterSchema([new FilterField("a", " ", FilterType.Text)]));
        Assert.Throws<ArgumentException>(() => new FilterSchema(
            [new FilterField("a", "x", FilterType.Text), new FilterField("A", "y", FilterType.Number)]));
        Assert.Equal(8, Schema.Fields.Count);
        Assert.Equal("coverage_min", Schema.Fields[0].Name);
    }

    private sealed class FilterSqlComparer : IEqualityComparer<FilterSql>
    {
        public bool Equals(FilterSql? x, FilterSql? y) =>
            x is not null && y is not null && x.Where == y.Where && x.Parameters.SequenceEqual(y.Parameters);

        public int GetHashCode(FilterSql obj) => obj.Where.GetHashCode(StringComparison.Ordinal);
    }
}
