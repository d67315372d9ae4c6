namespace Concerto.Ingest.Reconstruction.Onnx;

/// <summary>Lists the external-data files an ONNX model refers to (TensorProto.external_data "location" entries of
/// initializers, Constant-node tensors and subgraphs) by walking the protobuf wire format on the file stream.
/// Weight payloads (raw_data and friends) are skipped with a seek, never read, so a self-contained 2 GB model costs no
/// memory; a full protobuf parse would materialise every weight.</summary>
internal static class OnnxExternalData
{
    // onnx.proto field numbers used here.
    private const int ModelGraph = 7;            // ModelProto.graph
    private const int ModelFunctions = 25;       // ModelProto.functions (FunctionProto)
    private const int FunctionNode = 7;          // FunctionProto.node
    private const int GraphNode = 1;             // GraphProto.node
    private const int GraphInitializer = 5;      // GraphProto.initializer
    private const int GraphSparseInitializer = 15;
    private const int NodeAttribute = 5;         // NodeProto.attribute
    private const int AttributeTensor = 5;       // AttributeProto.t
    private const int AttributeGraph = 6;        // AttributeProto.g
    private const int AttributeTensors = 10;     // AttributeProto.tensors
    private const int AttributeGraphs = 11;      // AttributeProto.graphs
    private const int AttributeSparseTensor = 22;
    private const int AttributeSparseTensors = 23;
    private const int SparseValues = 1;          // SparseTensorProto.values
    private const int SparseIndices = 2;         // SparseTensorProto.indices
    private const int TensorExternalData = 13;   // TensorProto.external_data (StringStringEntryProto)
    private const int EntryKey = 1;
    private const int EntryValue = 2;

    private enum Kind { Model, Graph, Function, Node, Attribute, SparseTensor, Tensor }

    /// <summary>Distinct locations (relative to the model's folder, as written in the model), in order of first use.</summary>
    public static IReadOnlyList<string> Locations(string modelPath)
    {
        using var stream = new FileStream(modelPath, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16);
        var locations = new List<string>();
        Walk(stream, stream.Length, Kind.Model, locations);
        return locations;
    }

    private static void Walk(FileStream s, long end, Kind kind, List<string> locations)
    {
        while (s.Position < end)
        {
            var tag = ReadVarint(s);
            var field = (int)(tag >> 3);
            var wire = (int)(tag & 7);
            switch (wire)
            {
                case 0: ReadVarint(s); continue;
                case 1: Skip(s, 8, end); continue;
                case 5: Skip(s, 4, end); continue;
                case 2: break;
                default: throw new InvalidDataException($"unsupported protobuf wire type {wire} at byte {s.Position}: not an ONNX model?");
            }

            var length = checked((long)ReadVarint(s));
            var child = s.Position + length;
            if (child > end) throw new InvalidDataException($"a protobuf field runs past its message at byte {s.Position}: truncated ONNX file?");
            var next = Child(kind, field);
            if (next is { } nested) Walk(s, child, nested, locations);
            else if (kind == Kind.Tensor && field == TensorExternalData) ReadEntry(s, child, locations);
            s.Position = child;
        }
    }

    private static Kind? Child(Kind kind, int field) => (kind, field) switch
    {
        (Kind.Model, ModelGraph) => Kind.Graph,
        (Kind.Model, ModelFunctions) => Kind.Function,
        (Kind.Function, FunctionNode) => Kind.Node,
        (Kind.Graph, GraphNode) => Kind.Node,
        (Kind.Graph, GraphInitializer) => Kind.Tensor,
        (Kind.Graph, GraphSparseInitializer) => Kind.SparseTensor,
        (Kind.Node, NodeAttribute) => Kind.Attribute,
        (Kind.Attribute, AttributeTensor or AttributeTensors) => Kind.Tensor,
        (Kind.Attribute, AttributeGraph or AttributeGraphs) => Kind.Graph,
        (Kind.Attribute, AttributeSparseTensor or AttributeSparseTensors) => Kind.SparseTensor,
        (Kind.SparseTensor, SparseValues or SparseIndices) => Kind.Tensor,
        _ => null,
    };

    private static void ReadEntry(FileStream s, long end, List<string> locations)
    {
        string? key = null, value = null;
        while (s.Position < end)
        {
            var tag = ReadVarint(s);
            if ((tag & 7) != 2)
            {
                if ((tag & 7) == 0) ReadVarint(s);
                else throw new InvalidDataException($"unexpected wire type in an external_data entry at byte {s.Position}");
                continue;
            }

            var length = checked((int)ReadVarint(s));
            if (s.Position + length > end) throw new InvalidDataException($"an external_data entry runs past its end at byte {s.Position}");
            var bytes = new byte[length];
            s.ReadExactly(bytes);
            var text = System.Text.Encoding.UTF8.GetString(bytes);
            switch ((int)(tag >> 3))
            {
                case EntryKey: key = text; break;
                case EntryValue: value = text; break;
            }
        }

        if (key == "location" && value is not null && !locations.Contains(value)) locations.Add(value);
    }

    private static ulong ReadVarint(FileStream s)
    {
        ulong result = 0;
        for (var shift = 0; shift < 64; shift += 7)
        {
            var b = s.ReadByte();
            if (b < 0) throw new InvalidDataException("the ONNX file ends inside a protobuf varint: truncated file?");
            result |= (ulong)(b & 0x7F) << shift;
            if ((b & 0x80) == 0) return result;
        }

        throw new InvalidDataException($"malformed protobuf varint at byte {s.Position}: not an ONNX model?");
    }

    private static void Skip(FileStream s, int count, long end)
    {
        if (s.Position + count > end) throw new InvalidDataException($"a protobuf field runs past its message at byte {s.Position}");
        s.Position += count;
    }
}
