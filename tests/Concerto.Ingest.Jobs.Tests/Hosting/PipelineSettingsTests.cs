using Concerto.Ingest.Jobs.Hosting;
using Microsoft.Extensions.Configuration;

namespace Concerto.Ingest.Jobs.Tests.Hosting;

public sealed class PipelineSettingsTests
{
    private static IConfiguration Configuration(params (string Key, string Value)[] values) =>
        new ConfigurationBuilder().AddInMemoryCollection(values.ToDictionary(v => v.Key, v => (string?)v.Value)).Build();

    [Fact]
    public void Bind_ReadsEverySection_WithDefaultsForWhatIsUnset()
    {
        var settings = PipelineSettings.Bind(Configuration(
            ("ConnectionStrings:Concerto", "Host=db;Database=concerto"),
            ("Concerto:ArtifactRoot", "/srv/artifacts"),
            ("Concerto:Reconstruction:ColmapPath", "/opt/colmap/bin/colmap"),
            ("Concerto:Reconstruction:Device", "cuda"),
            ("Concerto:Features:TeacherModel", "/models/dinov2.onnx"),
            ("Concerto:Workers:Count", "3")));
        Assert.Equal("Host=db;Database=concerto", settings.Storage.ConnectionString);
        Assert.Equal("/srv/artifacts", settings.Storage.ArtifactRoot);
        Assert.Equal("/opt/colmap/bin/colmap", settings.Reconstruction.ColmapPath);
        Assert.Equal("cuda", settings.Reconstruction.Device);
        Assert.Equal("/models/dinov2.onnx", settings.Features.TeacherModel);
        Assert.Equal("auto", settings.Features.Device);
        Assert.Equal(3, settings.Workers.ResolveCount());
        Assert.Equal(TimeSpan.FromSeconds(60), settings.Workers.Lease);
    }

    [Fact]
    public void Bind_RefusesSettingsThatCannotWork_NamingEachOne()
    {
        var error = Assert.Throws<InvalidSettingsException>(() => PipelineSettings.Bind(Configuration(
            ("Concerto:Reconstruction:Device", "tpu"),
            ("Concerto:Features:TeacherModel", Path.GetTempPath()),
            ("Concerto:Media:FfmpegFolder", "/nonexistent/ffmpeg-folder"),
            ("Concerto:Workers:LeaseSeconds", "2"),
            ("Concerto:Workers:InvisibilityTimeoutSeconds", "5"),
            ("Concerto:Workers:Count", "-1"))));
        foreach (var named in new[]
                 {
                     "Concerto:Reconstruction:Device is 'tpu': use auto, cpu or cuda", "Concerto:Features:TeacherModel", "Concerto:Media:FfmpegFolder",
                     "Concerto:Workers:LeaseSeconds is 2", "Concerto:Workers:InvisibilityTimeoutSeconds is 5", "Concerto:Workers:Count is -1",
                 })
            Assert.Contains(named, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Bind_KeepsAColmapPathThatDoesNotExist_SoAutoCanFallBackToClassic()
    {
        var settings = PipelineSettings.Bind(Configuration(("Concerto:Reconstruction:ColmapPath", "/nonexistent/colmap")));
        Assert.Equal("/nonexistent/colmap", settings.Reconstruction.ColmapPath);
    }
}
