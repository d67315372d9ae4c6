using Concerto.Ingest.TestSupport;

namespace Concerto.Ingest.Storage.Tests.Artifacts;

[CollectionDefinition(Name)]
public sealed class MotoCollection : ICollectionFixture<MotoServer>
{
    public const string Name = "moto S3 server";
}
