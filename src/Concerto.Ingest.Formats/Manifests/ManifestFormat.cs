namespace Concerto.Ingest.Formats.Manifests;

/// <summary>File format of a dataset manifest.</summary>
public enum ManifestFormat
{
    /// <summary>Apache Parquet, one row per segment (see <see cref="ManifestWriter"/> for the schema).</summary>
    Parquet,

    /// <summary>JSON Lines: one camelCase JSON object per segment, each ending in "\n", UTF-8 without BOM.</summary>
    Jsonl,
}
