using System.Runtime.InteropServices;
using System.Security.Cryptography;
using Concerto.Ingest.Core.Media;
using Google.Protobuf;
using Onnx;

namespace Concerto.Ingest.Features.Teacher.Import;

/// <summary>Makes a patch-feature teacher from the ImageNet-pretrained ResNet-18 that NuGet's
/// Microsoft.ML.DnnImageFeaturizer.ResNet18 0.24.0 (MIT) ships, restored by this project's own build: the graph is cut
/// where its third stage ends (<see cref="CutTensor"/>, 256 channels, stride 16), its package preprocessing (RGB to BGR,
/// mean subtraction on 0-255 values) is folded in front, the input's batch and spatial sizes are freed, and the feature
/// map is laid out as DINOv2-style tokens [batch, rows x columns, 256], row-major. The default grid is 37 x 37 at
/// 592 x 592, the slot layout DINOv2 gives at 518; any grid works (45 x 80 at 720 x 1280 is Pointcept's default 630 x 1120
/// crop's layout).</summary>
public static class ResNetTeacherImport
{
    public const string PackageId = "Microsoft.ML.DnnImageFeaturizer.ResNet18";
    public const string PackageVersion = "0.24.0";
    public const string ModelFile = "tools/DnnImageModels/ResNet18Onnx/ResNet18.onnx";
    public const string PreprocessFile = "tools/DnnImageModels/ResNetPrepOnnx/ResNetPreprocess.onnx";
    public const string CutTensor = "ReLU347_Output_0";
    public const int Channels = 256;
    public const int Stride = 16;
    public const int DefaultGridSide = 37;
    public const int MaxGridSide = 256;
    public const string InputName = "pixel_values";
    public const string OutputName = "last_hidden_state";
    public const string OutputModel = "resnet18-stage3.onnx";

    /// <summary>The restored package folder: NUGET_PACKAGES, else ~/.nuget/packages; null when it is not there.</summary>
    public static string? FindPackage()
    {
        var root = Environment.GetEnvironmentVariable("NUGET_PACKAGES");
        if (string.IsNullOrEmpty(root)) root = Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".nuget", "packages");
        var folder = Path.Combine(root, PackageId.ToLowerInvariant(), PackageVersion);
        return File.Exists(Path.Combine(folder, ModelFile)) ? folder : null;
    }

    /// <summary>Writes the teacher model and its <see cref="TeacherDescription"/> into <paramref name="outFolder"/>, for
    /// a grid of <paramref name="rows"/> x <paramref name="columns"/> patches (input 16 x rows high, 16 x columns wide).</summary>
    /// <exception cref="BadInputException">A file is missing or is not the expected graph.</exception>
    public static TeacherDescription Import(string packageFolder, string outFolder, int rows = DefaultGridSide, int columns = DefaultGridSide)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(packageFolder);
        ArgumentException.ThrowIfNullOrWhiteSpace(outFolder);
        if (rows is < 1 or > MaxGridSide || columns is < 1 or > MaxGridSide)
            throw new ArgumentException($"a {rows} x {columns} patch grid is outside 1-{MaxGridSide} per side");
        var modelPath = Path.Combine(packageFolder, ModelFile);
        var prepPath = Path.Combine(packageFolder, PreprocessFile);
        var network = Load(modelPath);
        var prep = Load(prepPath);

        var networkInput = Single(network.Graph.Input.Where(i => !network.Graph.Initializer.Any(t => t.Name == i.Name)).Select(i => i.Name), modelPath, "input");
        if (!network.Graph.Node.Any(n => n.Output.Contains(CutTensor)))
            throw new BadInputException($"{modelPath} is not the expected ResNet-18 graph: no node makes '{CutTensor}'; use {PackageId} {PackageVersion}.");
        var prepInput = Single(prep.Graph.Input.Where(i => !prep.Graph.Initializer.Any(t => t.Name == i.Name)).Select(i => i.Name), prepPath, "input");
        var prepOutput = Single(prep.Graph.Output.Select(o => o.Name), prepPath, "output");

        var graph = new GraphProto { Name = "resnet18_stage3_tokens" };
        graph.Input.Add(FloatValue(InputName, ["batch", 3, "height", "width"]));
        graph.Output.Add(FloatValue(OutputName, ["batch", "tokens", Channels]));

        // The preprocessing, renamed into its own namespace and wired from our input to the network's.
        string Rename(string name) => name == prepInput ? InputName : name == prepOutput ? networkInput : "prep/" + name;
        foreach (var node in prep.Graph.Node)
        {
            var copy = node.Clone();
            copy.Name = "prep/" + (node.Name.Length > 0 ? node.Name : $"{node.OpType}_{node.Output[0]}");
            for (var i = 0; i < copy.Input.Count; i++) copy.Input[i] = Rename(copy.Input[i]);
            for (var i = 0; i < copy.Output.Count; i++) copy.Output[i] = Rename(copy.Output[i]);
            graph.Node.Add(copy);
        }

        foreach (var tensor in prep.Graph.Initializer)
        {
            var copy = PerChannel(tensor);
            copy.Name = Rename(tensor.Name);
            graph.Initializer.Add(copy);
        }

        // The network up to the cut: the nodes the cut tensor depends on, in their order, and their initializers.
        var needed = new HashSet<string> { CutTensor };
        var kept = new List<NodeProto>();
        foreach (var node in network.Graph.Node.Reverse())
        {
            if (!node.Output.Any(needed.Contains)) continue;
            kept.Add(node);
            foreach (var input in node.Input) needed.Add(input);
        }

        kept.Reverse();
        graph.Node.AddRange(kept);
        graph.Initializer.AddRange(network.Graph.Initializer.Where(t => needed.Contains(t.Name)));

        // [batch, C, rows, columns] -> [batch, rows x columns, C].
        var shape = new TensorProto { Name = "tokens/shape", DataType = (int)TensorProto.Types.DataType.Int64, RawData = ByteString.CopyFrom(MemoryMarshal.AsBytes<long>([0, Channels, -1])) };
        shape.Dims.Add(3);
        graph.Initializer.Add(shape);
        graph.Node.Add(Node("Reshape", [CutTensor, "tokens/shape"], ["tokens/channels_first"]));
        var transpose = Node("Transpose", ["tokens/channels_first"], [OutputName]);
        var perm = new AttributeProto { Name = "perm", Type = AttributeProto.Types.AttributeType.Ints };
        perm.Ints.AddRange([0, 2, 1]);
        transpose.Attribute.Add(perm);
        graph.Node.Add(transpose);

        var model = new ModelProto { IrVersion = network.IrVersion, ProducerName = "concerto teacher import", Graph = graph };
        model.OpsetImport.AddRange(network.OpsetImport);
        Directory.CreateDirectory(outFolder);
        File.WriteAllBytes(Path.Combine(outFolder, OutputModel), model.ToByteArray());

        var description = new TeacherDescription(
            Name: "resnet18-imagenet-stage3",
            Model: OutputModel,
            InputName: InputName,
            OutputName: OutputName,
            InputHeight: rows * Stride,
            InputWidth: columns * Stride,
            Stride: Stride,
            GridRows: rows,
            GridColumns: columns,
            Channels: Channels,
            Preprocessing: "RGB values 0-255 in; the package's ResNetPreprocess graph folded in (channels to BGR, minus the per-channel means " +
                           "of its 224 x 224 mean image, so any input size works); the featurize stage feeds 0-255 RGB (mean 0, std 1/255)",
            Mean: [0, 0, 0],
            Std: [1.0 / 255, 1.0 / 255, 1.0 / 255],
            Source: $"{PackageId} {PackageVersion}: {ModelFile} and {PreprocessFile}",
            SourceSha256: Sha256(modelPath),
            Licence: "MIT (the NuGet package's licence)",
            Training: "ImageNet classification (ResNet-18, Microsoft CNTK model zoo export, CNTK 2.6)",
            CutAt: $"{CutTensor} (end of the third stage: 256 channels, stride 16)");
        description.Write(outFolder);
        return description;
    }

    /// <summary>A constant that holds an image's worth of values per channel ([..., C, H, W] with H, W > 1) becomes its
    /// per-channel means ([..., C, 1, 1]), which broadcast over any input size; other tensors are copied.</summary>
    public static TensorProto PerChannel(TensorProto tensor)
    {
        var copy = tensor.Clone();
        var dims = tensor.Dims.ToArray();
        if (dims.Length < 3 || dims[^1] <= 1 || dims[^2] <= 1 || tensor.DataType != (int)TensorProto.Types.DataType.Float) return copy;
        var values = tensor.RawData.Length > 0 ? MemoryMarshal.Cast<byte, float>(tensor.RawData.Span).ToArray() : tensor.FloatData.ToArray();
        var plane = dims[^1] * dims[^2];
        var planes = values.Length / plane;
        var means = new float[planes];
        for (var p = 0; p < planes; p++)
        {
            double sum = 0;
            for (var i = 0; i < plane; i++) sum += values[p * plane + i];
            means[p] = (float)(sum / plane);
        }

        copy.Dims.Clear();
        copy.Dims.AddRange(dims[..^2].Append(1).Append(1));
        copy.FloatData.Clear();
        copy.RawData = ByteString.CopyFrom(MemoryMarshal.AsBytes<float>(means));
        return copy;
    }

    private static ModelProto Load(string path)
    {
        if (!File.Exists(path))
            throw new BadInputException($"{path} is missing: the project's build restores {PackageId} {PackageVersion} (run `dotnet restore`), or pass --from with the package folder.");
        try
        {
            return ModelProto.Parser.ParseFrom(File.ReadAllBytes(path));
        }
        catch (InvalidProtocolBufferException e)
        {
            throw new BadInputException($"{path} is not an ONNX model ({e.Message}); restore {PackageId} {PackageVersion} again.", e);
        }
    }

    private static string Single(IEnumerable<string> names, string path, string what)
    {
        var list = names.ToList();
        return list.Count == 1 ? list[0]
            : throw new BadInputException($"{path} is not the expected graph: it has {list.Count} {what}s ({string.Join(", ", list)}), expected one; use {PackageId} {PackageVersion}.");
    }

    private static NodeProto Node(string op, string[] inputs, string[] outputs)
    {
        var node = new NodeProto { OpType = op, Name = "tokens/" + op };
        node.Input.AddRange(inputs);
        node.Output.AddRange(outputs);
        return node;
    }

    private static ValueInfoProto FloatValue(string name, object[] dims)
    {
        var shape = new TensorShapeProto();
        foreach (var d in dims)
            shape.Dim.Add(d is string param
                ? new TensorShapeProto.Types.Dimension { DimParam = param }
                : new TensorShapeProto.Types.Dimension { DimValue = Convert.ToInt64(d, System.Globalization.CultureInfo.InvariantCulture) });
        return new ValueInfoProto
        {
            Name = name,
            Type = new TypeProto { TensorType = new TypeProto.Types.Tensor { ElemType = (int)TensorProto.Types.DataType.Float, Shape = shape } },
        };
    }

    private static string Sha256(string path)
    {
        using var file = File.OpenRead(path);
        return Convert.ToHexStringLower(SHA256.HashData(file));
    }
}
