using System.Globalization;
using System.Text;

namespace Concerto.Ingest.Core.Datasets.Filter;

/// <summary>Turns a filter into SQL. Only the schema's field SQL and fixed keywords reach the text; every literal
/// becomes a <c>$n</c> parameter. Every node is parenthesised, so precedence never depends on SQL's rules.</summary>
internal sealed class FilterSqlEmitter
{
    private readonly StringBuilder _sql = new();
    private readonly List<object> _parameters = [];
    private readonly int _firstParameterIndex;

    private FilterSqlEmitter(int firstParameterIndex) => _firstParameterIndex = firstParameterIndex;

    public static FilterSql Emit(FilterExpression expression, int firstParameterIndex)
    {
        var emitter = new FilterSqlEmitter(firstParameterIndex);
        emitter.Write(expression);
        return new FilterSql(emitter._sql.ToString(), emitter._parameters.AsReadOnly());
    }

    private void Write(FilterExpression expression)
    {
        _sql.Append('(');
        switch (expression)
        {
            case FilterOr or:
                Write(or.Left);
                _sql.Append(" OR ");
                Write(or.Right);
                break;
            case FilterAnd and:
                Write(and.Left);
                _sql.Append(" AND ");
                Write(and.Right);
                break;
            case FilterNot not:
                _sql.Append("NOT ");
                Write(not.Operand);
                break;
            case FilterComparison comparison:
                WriteField(comparison.Field);
                _sql.Append(' ').Append(FilterFormatter.SqlSymbol(comparison.Operator)).Append(' ');
                WriteParameter(comparison.Value.Value);
                break;
            case FilterIn @in:
                WriteField(@in.Field);
                _sql.Append(@in.Negated ? " NOT IN (" : " IN (");
                for (var i = 0; i < @in.Values.Length; i++)
                {
                    _sql.Append(i == 0 ? "" : ", ");
                    WriteParameter(@in.Values[i].Value);
                }
                _sql.Append(')');
                break;
            case FilterBetween between:
                WriteField(between.Field);
                _sql.Append(between.Negated ? " NOT BETWEEN " : " BETWEEN ");
                WriteParameter(between.Low.Value);
                _sql.Append(" AND ");
                WriteParameter(between.High.Value);
                break;
            case FilterLike like:
                WriteField(like.Field);
                _sql.Append(like.Negated ? " NOT LIKE " : " LIKE ");
                WriteParameter(like.Pattern);
                break;
            case FilterIsNull isNull:
                WriteField(isNull.Field);
                _sql.Append(isNull.Negated ? " IS NOT NULL" : " IS NULL");
                break;
            default:
                throw new InvalidOperationException($"Unknown filter node {expression.GetType().Name}.");
        }
        _sql.Append(')');
    }

    /// <summary>Field SQL other than a plain (qualified) column name is parenthesised, so that operators inside it
    /// cannot bind to the comparison around it.</summary>
    private void WriteField(FilterField field)
    {
        var plain = field.Sql.All(c => char.IsAsciiLetterOrDigit(c) || c is '_' or '.' or '"');
        _sql.Append(plain ? field.Sql : $"({field.Sql})");
    }

    private void WriteParameter(object value)
    {
        _parameters.Add(value);
        _sql.Append('$').Append((_firstParameterIndex + _parameters.Count - 1).ToString(CultureInfo.InvariantCulture));
    }
}
