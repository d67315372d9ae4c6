using Concerto.Ingest.Reconstruction.Classic;

namespace Concerto.Ingest.Reconstruction.Classic.Tests;

public sealed class ClassicSettingsTests
{
    [Fact]
    public void Default_IsOneShared_Instance()
    {
        Assert.Same(ClassicSettings.Default, ClassicSettings.Default);
    }
}
