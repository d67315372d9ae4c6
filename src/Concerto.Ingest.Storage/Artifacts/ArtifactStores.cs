namespace Concerto.Ingest.Storage.Artifacts;

/// <summary>The artifact store the configuration asks for.</summary>
public static class ArtifactStores
{
    public static IArtifactStore Create(StorageOptions storage)
    {
        ArgumentNullException.ThrowIfNull(storage);
        return new FolderArtifactStore(storage.ResolveArtifactRoot());
    }
}
