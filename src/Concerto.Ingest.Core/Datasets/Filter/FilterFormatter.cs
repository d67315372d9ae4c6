using System.Text;

namespace Concerto.Ingest.Core.Datasets.Filter;

/// <summary>Writes the canonical text of a filter (see <see cref="FilterExpression.ToString"/>).</summary>
internal static class FilterFormatter
{
    public static string Format(FilterExpression expression)
    {
        var text = new StringBuilder();
        Write(text, expression);
        return text.ToString();
    }

    private static void Write(StringBuilder text, FilterExpression expression)
    {
        switch (expression)
        {
            case FilterOr or:
                Write(text, or.Left);
                text.Append(" or ");
                Write(text, or.Right);
                break;
            case FilterAnd and:
                // 'and' binds tighter than 'or', so only an 'or' operand needs parentheses; chains print flat
                // whichever way they were grouped, since grouping does not change their meaning.
                WriteOperand(text, and.Left, parenthesise: and.Left is FilterOr);
                text.Append(" and ");
                WriteOperand(text, and.Right, parenthesise: and.Right is FilterOr);
                break;
            case FilterNot not:
                text.Append("not ");
                WriteOperand(text, not.Operand, parenthesise: not.Operand is FilterAnd or FilterOr);
                break;
            case FilterComparison { Field.Type: FilterType.Bool, Operator: FilterOperator.Equal, Value.Value: true } bare:
                text.Append(bare.Field.Name);
                break;
            case FilterComparison comparison:
                text.Append(comparison.Field.Name).Append(' ').Append(Symbol(comparison.Operator)).Append(' ')
                    .Append(comparison.Value);
                break;
            case FilterIn @in:
                text.Append(@in.Field.Name).Append(@in.Negated ? " not in (" : " in (")
                    .AppendJoin(", ", @in.Values).Append(')');
                break;
            case FilterBetween between:
                text.Append(between.Field.Name).Append(between.Negated ? " not between " : " between ")
                    .Append(between.Low).Append(" and ").Append(between.High);
                break;
            case FilterLike like:
                text.Append(like.Field.Name).Append(like.Negated ? " not like " : " like ")
                    .Append(FilterLiteral.Quote(like.Pattern));
                break;
            case FilterIsNull isNull:
                text.Append(isNull.Field.Name).Append(isNull.Negated ? " is not null" : " is null");
                break;
            default:
                throw new InvalidOperationException($"Unknown filter node {expression.GetType().Name}.");
        }
    }

    private static void WriteOperand(StringBuilder text, FilterExpression operand, bool parenthesise)
    {
        if (parenthesise)
        {
            text.Append('(');
        }
        Write(text, operand);
        if (parenthesise)
        {
            text.Append(')');
        }
    }

    private static string Symbol(FilterOperator op) => op switch
    {
        FilterOperator.Equal => "=",
        FilterOperator.NotEqual => "!=",
        FilterOperator.Less => "<",
        FilterOperator.LessOrEqual => "<=",
        FilterOperator.Greater => ">",
        FilterOperator.GreaterOrEqual => ">=",
        _ => throw new ArgumentOutOfRangeException(nameof(op), op, null),
    };

    internal static string SqlSymbol(FilterOperator op) => op == FilterOperator.NotEqual ? "<>" : Symbol(op);
}
