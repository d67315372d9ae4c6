using System.Globalization;
using System.Runtime.InteropServices;
using Google.Protobuf;
using Onnx;

namespace Concerto.Ingest.Synthetic.Models;

/// <summary>A float32 ONNX graph (opset 17, IR 8) under construction, for the signature models written here. Constants
/// over 1 MiB go to <paramref name="data"/> (the external data file named <paramref name="dataName"/> beside the model,
/// as large public exports keep their weights); without one every constant is inline, which suits models well under
/// protobuf's 2 GiB limit.</summary>
internal sealed class OnnxGraphBuilder(string graphName, string producerName, FileStream? data = null, string? dataName = null)
{
    private const int InlineLimit = 1 << 20;
    private readonly GraphProto _graph = new() { Name = graphName };

    public static AttributeProto Int(string name, long value) =>
        new() { Name = name, Type = AttributeProto.Types.AttributeType.Int, I = value };

    public static AttributeProto Float(string name, float value) =>
        new() { Name = name, Type = AttributeProto.Types.AttributeType.Float, F = value };

    public static AttributeProto Ints(string name, params long[] values)
    {
        var attribute = new AttributeProto { Name = name, Type = AttributeProto.Types.AttributeType.Ints };
        attribute.Ints.AddRange(values);
        return attribute;
    }

    /// <summary>A float input; a string dimension is symbolic (dynamic).</summary>
    public void Input(string name, object[] dims) => _graph.Input.Add(ValueInfo(name, dims));

    public void Output(string name, object[] dims) => _graph.Output.Add(ValueInfo(name, dims));

    public void Node(string op, string[] inputs, string[] outputs, params AttributeProto[] attributes)
    {
        var node = new NodeProto { OpType = op, Name = $"{op}_{outputs[0]}" };
        node.Input.AddRange(inputs);
        node.Output.AddRange(outputs);
        node.Attribute.AddRange(attributes);
        _graph.Node.Add(node);
    }

    public void Constant(string name, long[] dims, float[] values) =>
        Add(name, dims, TensorProto.Types.DataType.Float, MemoryMarshal.AsBytes(values.AsSpan()));

    public void Constant(string name, long[] dims, long[] values) =>
        Add(name, dims, TensorProto.Types.DataType.Int64, MemoryMarshal.AsBytes(values.AsSpan()));

    /// <summary>A float tensor already written to the data file at <paramref name="offset"/>.</summary>
    public void External(string name, long[] dims, long length, long offset)
    {
        if (dataName is null) throw new InvalidOperationException($"{name} is external data, but the graph '{graphName}' has no data file");
        var tensor = new TensorProto { Name = name, DataType = (int)TensorProto.Types.DataType.Float, DataLocation = TensorProto.Types.DataLocation.External };
        tensor.Dims.AddRange(dims);
        tensor.ExternalData.Add(new StringStringEntryProto { Key = "location", Value = dataName });
        tensor.ExternalData.Add(new StringStringEntryProto { Key = "offset", Value = offset.ToString(CultureInfo.InvariantCulture) });
        tensor.ExternalData.Add(new StringStringEntryProto { Key = "length", Value = length.ToString(CultureInfo.InvariantCulture) });
        _graph.Initializer.Add(tensor);
    }

    public void Save(string path)
    {
        var model = new ModelProto { IrVersion = 8, ProducerName = producerName, Graph = _graph };
        model.OpsetImport.Add(new OperatorSetIdProto { Domain = "", Version = 17 });
        File.WriteAllBytes(path, model.ToByteArray());
    }

    private void Add(string name, long[] dims, TensorProto.Types.DataType type, ReadOnlySpan<byte> bytes)
    {
        if (data is null || bytes.Length <= InlineLimit)
        {
            var tensor = new TensorProto { Name = name, DataType = (int)type, RawData = ByteString.CopyFrom(bytes) };
            tensor.Dims.AddRange(dims);
            _graph.Initializer.Add(tensor);
            return;
        }

        var offset = data.Position;
        data.Write(bytes);
        External(name, dims, bytes.Length, offset);
        _graph.Initializer[^1].DataType = (int)type;
    }

    private static ValueInfoProto ValueInfo(string name, object[] dims)
    {
        var shape = new TensorShapeProto();
        foreach (var d in dims)
            shape.Dim.Add(d is string param
                ? new TensorShapeProto.Types.Dimension { DimParam = param }
                : new TensorShapeProto.Types.Dimension { DimValue = Convert.ToInt64(d, CultureInfo.InvariantCulture) });
        return new ValueInfoProto
        {
            Name = name,
            Type = new TypeProto { TensorType = new TypeProto.Types.Tensor { ElemType = (int)TensorProto.Types.DataType.Float, Shape = shape } },
        };
    }
}
