using System.Runtime.InteropServices;
using Google.Protobuf;
using Onnx;

namespace Concerto.Ingest.Reconstruction.Tests.Vggt;

/// <summary>Variants of a test model with VGGT's signature.</summary>
internal sealed record TestModelOptions
{
    /// <summary>4: [N,3,H,W]; 5: [1,N,3,H,W]; 3: [3,H,W] (a wrong model).</summary>
    public int InputRank { get; init; } = 4;

    /// <summary>H and W as named dynamic dimensions (crop-mode models) instead of fixed sizes.</summary>
    public bool DynamicSize { get; init; }

    public bool Float16 { get; init; }

    /// <summary>Weights (the ground-truth initializers) in "<c>model file name</c>_data" beside the model.</summary>
    public bool ExternalData { get; init; }

    public string InputName { get; init; } = "input_images";

    /// <summary>Output names in the order pose_enc, depth, depth_conf, world_points, world_points_conf.</summary>
    public IReadOnlyList<string> OutputNames { get; init; } = ["pose_enc", "depth", "depth_conf", "world_points", "world_points_conf"];
}

/// <summary>Builds tiny ONNX models with VGGT's input and output signature whose outputs are a given
/// <see cref="PlaneScene"/>. Each output is its ground truth (an initializer) plus a term computed from the input, so
/// ONNX Runtime cannot fold the graph into constants and the input really flows: pose_enc, depth and the point map add
/// 0 * max(input); depth_conf adds max(input) itself, which lets tests see the preprocessed pixel range.</summary>
internal static class TestModels
{
    private const int Opset = 17;

    public static string Write(string path, PlaneScene truth, TestModelOptions? options = null)
    {
        options ??= new TestModelOptions();
        var elem = options.Float16 ? TensorProto.Types.DataType.Float16 : TensorProto.Types.DataType.Float;
        var graph = new GraphProto { Name = "vggt_signature" };
        DimensionSpec h = options.DynamicSize ? "H" : truth.Height, w = options.DynamicSize ? "W" : truth.Width;
        DimensionSpec[] inputDims = options.InputRank switch
        {
            3 => [3, h, w],
            4 => ["N", 3, h, w],
            5 => [1, "N", 3, h, w],
            _ => throw new ArgumentOutOfRangeException(nameof(options), options.InputRank, "input rank"),
        };
        graph.Input.Add(ValueInfo(options.InputName, elem, inputDims));

        var external = options.ExternalData ? new MemoryStream() : null;
        var dataName = Path.GetFileName(path) + "_data";
        graph.Initializer.Add(Initializer("zero", [], [0f], external, dataName));

        var input = options.InputName;
        if (options.Float16)
        {
            graph.Node.Add(Node("Cast", [input], ["input_f32"], new AttributeProto { Name = "to", Type = AttributeProto.Types.AttributeType.Int, I = (long)TensorProto.Types.DataType.Float }));
            input = "input_f32";
        }

        graph.Node.Add(Node("ReduceMax", [input], ["input_max"], new AttributeProto { Name = "keepdims", Type = AttributeProto.Types.AttributeType.Int, I = 0 }));
        graph.Node.Add(Node("Mul", ["input_max", "zero"], ["input_zero"]));

        int s = truth.Frames, hh = truth.Height, ww = truth.Width;
        (float[] Values, long[] Dims, string Term)[] outputs =
        [
            (truth.PoseEncoding, [1, s, 9], "input_zero"),
            (truth.Depth, [1, s, hh, ww, 1], "input_zero"),
            (truth.DepthConfidence, [1, s, hh, ww], "input_max"),
            (truth.WorldPoints, [1, s, hh, ww, 3], "input_zero"),
            (truth.WorldPointsConfidence, [1, s, hh, ww], "input_zero"),
        ];
        for (var k = 0; k < outputs.Length; k++)
        {
            var (values, dims, term) = outputs[k];
            var name = options.OutputNames[k];
            graph.Initializer.Add(Initializer($"truth_{k}", dims, values, external, dataName));
            if (options.Float16)
            {
                graph.Node.Add(Node("Add", [$"truth_{k}", term], [$"sum_{k}"]));
                graph.Node.Add(Node("Cast", [$"sum_{k}"], [name], new AttributeProto { Name = "to", Type = AttributeProto.Types.AttributeType.Int, I = (long)TensorProto.Types.DataType.Float16 }));
            }
            else
            {
                graph.Node.Add(Node("Add", [$"truth_{k}", term], [name]));
            }

            graph.Output.Add(ValueInfo(name, elem, dims.Select(d => (DimensionSpec)d).ToArray()));
        }

        var model = new ModelProto { IrVersion = 8, ProducerName = "Concerto.Ingest.Tests", Graph = graph };
        model.OpsetImport.Add(new OperatorSetIdProto { Domain = "", Version = Opset });
        File.WriteAllBytes(path, model.ToByteArray());
        if (external is not null)
        {
            File.WriteAllBytes(Path.Combine(Path.GetDirectoryName(path)!, dataName), external.ToArray());
            external.Dispose();
        }

        return path;
    }

    /// <summary>A fixed size or a named dynamic dimension.</summary>
    internal readonly record struct DimensionSpec(long Value, string? Param)
    {
        public static implicit operator DimensionSpec(long value) => new(value, null);
        public static implicit operator DimensionSpec(string param) => new(0, param);
    }

    private static NodeProto Node(string op, string[] inputs, string[] outputs, params AttributeProto[] attributes)
    {
        var node = new NodeProto { OpType = op, Name = $"{op}_{outputs[0]}" };
        node.Input.AddRange(inputs);
        node.Output.AddRange(outputs);
        node.Attribute.AddRange(attributes);
        return node;
    }

    private static ValueInfoProto ValueInfo(string name, TensorProto.Types.DataType elem, DimensionSpec[] dims)
    {
        var shape = new TensorShapeProto();
        foreach (var d in dims)
            shape.Dim.Add(d.Param is null ? new TensorShapeProto.Types.Dimension { DimValue = d.Value } : new TensorShapeProto.Types.Dimension { DimParam = d.Param });
        return new ValueInfoProto
        {
            Name = name,
            Type = new TypeProto { TensorType = new TypeProto.Types.Tensor { ElemType = (int)elem, Shape = shape } },
        };
    }

    private static TensorProto Initializer(string name, long[] dims, float[] values, MemoryStream? external, string dataName)
    {
        var tensor = new TensorProto { Name = name, DataType = (int)TensorProto.Types.DataType.Float };
        tensor.Dims.AddRange(dims);
        var bytes = MemoryMarshal.AsBytes(values.AsSpan());
        if (external is null)
        {
            tensor.RawData = ByteString.CopyFrom(bytes);
            return tensor;
        }

        var offset = external.Position;
        external.Write(bytes);
        tensor.DataLocation = TensorProto.Types.DataLocation.External;
        tensor.ExternalData.Add(new StringStringEntryProto { Key = "location", Value = dataName });
        tensor.ExternalData.Add(new StringStringEntryProto { Key = "offset", Value = offset.ToString(System.Globalization.CultureInfo.InvariantCulture) });
        tensor.ExternalData.Add(new StringStringEntryProto { Key = "length", Value = bytes.Length.ToString(System.Globalization.CultureInfo.InvariantCulture) });
        return tensor;
    }
}
