using Concerto.Ingest.Train.Data;
using TorchSharp;
using static TorchSharp.torch;

namespace Concerto.Ingest.Train.Tests.Data;

public sealed class CollationTests
{
    private static readonly PointSample Labelled = new()
    {
        Key = "a",
        Coord = [0, 1, 2, 3, 4, 5],
        Color = [255, 0, 51, 102, 204, 255],
        Normal = [0, 0, 1, 1, 0, 0],
        Segment = [4, -1],
        SourceIndex = [7, 3],
        Images = [],
    };

    private static readonly PointSample Unlabelled = new()
    {
        Key = "b",
        Coord = [10, 11, 12, 13, 14, 15, 16, 17, 18],
        Color = [0, 0, 0, 255, 255, 255, 51, 51, 51],
        Normal = [0, 1, 0, 0, -1, 0, 1, 0, 0],
        SourceIndex = [0, 1, 2],
        Images = [],
    };

    [Fact]
    public void Collate_ConcatenatesInOrder_WithEndOffsetsAndBatchIndices()
    {
        var batch = Collation.Collate([Labelled, Unlabelled]);

        Assert.Equal(5, batch.Count);
        Assert.Equal(2, batch.BatchSize);
        Assert.Equal([2L, 5L], batch.Offsets);
        Assert.Equal([0, 0, 1, 1, 1], batch.Batch);
        Assert.Equal([4, -1, -1, -1, -1], batch.Segment);
        Assert.True(batch.HasSegment);
        Assert.Equal([7, 3, 0, 1, 2], batch.SourceIndex);
        Assert.Equal([.. Labelled.Coord, .. Unlabelled.Coord], batch.Coord);
        Assert.Equal([.. Labelled.Color, .. Unlabelled.Color], batch.Color);
        Assert.Equal([.. Labelled.Normal, .. Unlabelled.Normal], batch.Normal);
        Assert.False(Collation.Collate([Unlabelled]).HasSegment);
    }

    [Fact]
    public void Collate_Rejects_EmptyBatchesAndInconsistentSamples()
    {
        Assert.Throws<ArgumentException>(() => Collation.Collate([]));
        var broken = new PointSample { Key = "broken", Coord = [0, 0], Color = [0, 0, 0], Normal = [0, 0, 0], SourceIndex = [0], Images = [] };
        var error = Assert.Throws<ArgumentException>(() => Collation.Collate([Labelled, broken]));
        Assert.Contains("sample 1 (broken)", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ToTensors_BuildsCoordFeatSegmentAndBatch_AndLeavesNoTensorsBehindWhenDisposed()
    {
        var collated = Collation.Collate([Labelled, Unlabelled]);
        var live = DisposeScopeManager.Statistics.ThreadTotalLiveCount;
        using (var tensors = collated.ToTensors(CPU))
        {
            Assert.Equal(live + 4, DisposeScopeManager.Statistics.ThreadTotalLiveCount);
            Assert.Equal([5L, 3L], tensors.Coord.shape);
            Assert.Equal([5L, 9L], tensors.Feat.shape);
            Assert.Equal([5L], tensors.Segment.shape);
            Assert.Equal(ScalarType.Float32, tensors.Feat.dtype);
            Assert.Equal(ScalarType.Int64, tensors.Segment.dtype);
            Assert.Equal(ScalarType.Int64, tensors.Batch.dtype);
            Assert.Equal([2L, 5L], tensors.Offsets);

            using var scope = NewDisposeScope(); // for the indexing temporaries below
            // Point 3 = sample b's second point: coord (13, 14, 15), colour 255/255, normal (0, -1, 0).
            Assert.Equal([13f, 14f, 15f, 1f, 1f, 1f, 0f, -1f, 0f], tensors.Feat[3].data<float>().ToArray());
            // Point 0: colour (255, 0, 51) / 255.
            Assert.Equal([0f, 1f, 2f, 1f, 0f, 0.2f, 0f, 0f, 1f], tensors.Feat[0].data<float>().ToArray());
            Assert.Equal([0f, 1f, 2f, 3f, 4f, 5f], tensors.Coord[..2].reshape(-1).data<float>().ToArray());
            Assert.Equal([4L, -1L, -1L, -1L, -1L], tensors.Segment.data<long>().ToArray());
            Assert.Equal([0L, 0L, 1L, 1L, 1L], tensors.Batch.data<long>().ToArray());
        }

        Assert.Equal(live, DisposeScopeManager.Statistics.ThreadTotalLiveCount);
    }
}
