using Concerto.Ingest.Core.Datasets;
using Concerto.Ingest.Core.Profiles;
using Concerto.Ingest.Formats.Arrays;
using Concerto.Ingest.Formats.Datasets;
using Concerto.Ingest.Formats.Manifests;
using Concerto.Ingest.Jobs.Datasets;
using Concerto.Ingest.Media.Ffmpeg;
using Concerto.Ingest.Storage.Artifacts;
using Concerto.Ingest.Storage.Catalog;
using Concerto.Ingest.Synthetic.Capture;
using Concerto.Ingest.Synthetic.Models;

namespace Concerto.Ingest.Jobs.Tests;

/// <summary>The featurize stage through the real job path with a DINOv2-signature teacher: a feature file for every
/// segment image, computed once per teacher, listed in dataset manifests and pulled folders.</summary>
public sealed class FeaturizeStageTests : PipelineTestBase
{
    [Fact]
    public async Task EverySegmentImage_GetsFeatures_ThatManifestsAndPullsList()
    {
        var capture = Directory.CreateTempSubdirectory("concerto-featurize-").FullName;
        try
        {
            await new SyntheticCaptureWriter(FfmpegTools.Locate()).WriteAsync(
                new SynthSettings(Seed: 6, Frames: 150, Width: 320, Height: 240, Fps: 10, Points: 1000), capture, null, CancellationToken.None);
            var model = Path.Combine(capture, "teacher", "dino.onnx");
            DinoSignatureModel.Write(model, new DinoSignatureModel.DinoModelSpec(Width: 32));
            const string unset = "\"modelPath\": null,                 // teacher ONNX model";
            Assert.Contains(unset, ProfileJson, StringComparison.Ordinal);
            var profile = ProfileDocument.Parse(ProfileJson.Replace(unset, $"\"modelPath\": \"{model}\", // teacher ONNX model", StringComparison.Ordinal), "featurize.json");

            var video = Path.Combine(capture, SyntheticCaptureWriter.VideoFile);
            var row = Assert.Single(await IngestAsync(profile, false, video));
            Assert.True(row.Succeeded, row.Error);
            var images = await Db.CountAsync("SELECT count(*) FROM segment_images i JOIN segments s ON s.id = i.segment_id WHERE s.run_id = $1", row.RunId!.Value);
            Assert.True(images >= 8, $"{images} segment images");
            Assert.Equal(images, await Db.CountAsync("SELECT count(*) FROM segment_features WHERE run_id = $1", row.RunId!.Value));
            Assert.Equal(1, await Db.CountAsync("SELECT count(*) FROM teachers WHERE width = 32 AND tokens = 1369"));

            // A forced re-run makes new segments; their features are computed, the earlier ones stay.
            Assert.True(Assert.Single(await IngestAsync(profile, true, video)).Succeeded);
            Assert.Equal(2 * images, await Db.CountAsync("SELECT count(*) FROM segment_features"));
            Assert.Equal(0, await Db.CountAsync("""
                SELECT count(*) FROM segment_images i JOIN segments s ON s.id = i.segment_id
                WHERE s.retired_at IS NULL AND NOT EXISTS (SELECT 1 FROM segment_features f WHERE f.segment_id = i.segment_id AND f.slot = i.slot)
                """));

            var catalog = new DatasetCatalog(Db.DataSource);
            var version = await catalog.CreateAsync("with-features", "featurized", DatasetSplits.Default, 0, CancellationToken.None);
            Assert.NotNull(version.Teacher);
            var exporter = new DatasetExporter(catalog, new FolderArtifactStore(Artifacts));
            using var manifest = new MemoryStream();
            await exporter.WriteManifestAsync(version, ManifestFormat.Parquet, manifest, CancellationToken.None);
            var rows = await ManifestReader.ReadParquetAsync(new MemoryStream(manifest.ToArray()));
            Assert.Equal(version.Segments, rows.Count);
            foreach (var feature in rows.SelectMany(r => r.FeatureUris!))
            {
                var (values, shape) = Npy.Read<Half>(new Uri(feature).LocalPath);
                Assert.Equal([1369, 32], shape);
                Assert.Contains(values, v => v != Half.Zero);
            }

            var pulled = Path.Combine(Artifacts, "pulled");
            await exporter.WriteFolderAsync(version, pulled, withManifest: true, null, CancellationToken.None);
            var pulledRows = await ManifestReader.ReadParquetAsync(File.OpenRead(Path.Combine(pulled, DatasetLayout.ManifestFile)));
            Assert.All(pulledRows.SelectMany(r => r.FeatureUris!), f => Assert.True(File.Exists(Path.Combine(pulled, f)), f));

            var none = await catalog.CreateAsync("no-features", null, DatasetSplits.Default, 0, CancellationToken.None, teacher: "none");
            using var plain = new MemoryStream();
            await exporter.WriteManifestAsync(none, ManifestFormat.Parquet, plain, CancellationToken.None);
            Assert.All(await ManifestReader.ReadParquetAsync(new MemoryStream(plain.ToArray())), r => Assert.Null(r.FeatureUris));
        }
        finally
        {
            Directory.Delete(capture, recursive: true);
        }
    }
}
