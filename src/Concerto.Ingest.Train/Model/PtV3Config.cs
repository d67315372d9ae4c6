namespace Concerto.Ingest.Train.Model;

/// <summary>A PTv3 encoder's shape (shared/spec/concerto.md section 1): 5 stages joined by stride-2 grid pooling, MLP
/// ratio 4, head dim 16 in the standard sizes.</summary>
/// <param name="Name">Tiny, Small, Base, Large or a custom name.</param>
/// <param name="Depths">Blocks per stage.</param>
/// <param name="Channels">Channels per stage.</param>
/// <param name="Heads">Attention heads per stage.</param>
/// <param name="PatchSize">Points per attention window (1024 in every stage in the papers).</param>
/// <param name="DropPath">Drop-path rate reached by the last block (rising linearly from 0 at the first).</param>
/// <param name="InChannels">Input features per point: coord, colour / 255, normal.</param>
public sealed record PtV3Config(string Name, int[] Depths, int[] Channels, int[] Heads, int PatchSize = 1024, double DropPath = 0.3, int InChannels = 9)
{
    public static PtV3Config Tiny { get; } = new("Tiny", [1, 1, 1, 3, 1], [16, 32, 64, 128, 256], [1, 2, 4, 8, 16]);
    public static PtV3Config Small { get; } = new("Small", [2, 2, 2, 6, 2], [32, 64, 128, 256, 512], [2, 4, 8, 16, 32]);
    public static PtV3Config Base { get; } = new("Base", [3, 3, 3, 12, 3], [48, 96, 192, 384, 512], [3, 6, 12, 24, 32]);
    public static PtV3Config Large { get; } = new("Large", [3, 3, 3, 12, 3], [64, 128, 256, 512, 768], [4, 8, 16, 32, 48]);

    public static IReadOnlyList<PtV3Config> Standard { get; } = [Tiny, Small, Base, Large];

    public int Stages => Depths.Length;

    public int TotalBlocks => Depths.Sum();

    /// <summary>The standard size named <paramref name="name"/> (case-insensitive).</summary>
    /// <exception cref="ArgumentException">No such size.</exception>
    public static PtV3Config Named(string name) =>
        Standard.FirstOrDefault(c => c.Name.Equals(name, StringComparison.OrdinalIgnoreCase))
        ?? throw new ArgumentException($"Unknown model size '{name}'. Use one of: {string.Join(", ", Standard.Select(c => c.Name))}.", nameof(name));

    /// <summary>Throws <see cref="ArgumentException"/> naming the first inconsistent field.</summary>
    public void Validate()
    {
        if (Depths.Length == 0 || Channels.Length != Depths.Length || Heads.Length != Depths.Length)
            throw new ArgumentException($"model '{Name}': depths, channels and heads need one entry per stage ({Depths.Length}, {Channels.Length}, {Heads.Length} given)");
        for (var s = 0; s < Stages; s++)
        {
            if (Depths[s] < 1 || Channels[s] < 1 || Heads[s] < 1)
                throw new ArgumentException($"model '{Name}': stage {s} needs at least 1 block, channel and head");
            if (Channels[s] % Heads[s] != 0)
                throw new ArgumentException($"model '{Name}': stage {s} has {Channels[s]} channels, not divisible by {Heads[s]} heads");
        }

        if (PatchSize < 1) throw new ArgumentException($"model '{Name}': patch size must be positive");
        if (DropPath is < 0 or >= 1) throw new ArgumentException($"model '{Name}': drop path must be in [0, 1)");
    }

    /// <summary>Parameters of the encoder by the closed form: per block 40C^2 + 17C (xCPE 28C^2 + 4C, attention 4C^2 + 6C,
    /// MLP 8C^2 + 7C); the stem Linear + LayerNorm and the mask token; per pooling Linear + LayerNorm.</summary>
    public long ParameterCount()
    {
        long total = (long)InChannels * Channels[0] + 3L * Channels[0] + Channels[0];
        for (var s = 0; s < Stages; s++)
        {
            long c = Channels[s];
            total += Depths[s] * (40 * c * c + 17 * c);
            if (s > 0) total += (long)Channels[s - 1] * c + 3 * c;
        }

        return total;
    }
}
