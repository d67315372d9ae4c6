using Concerto.Ingest.Core.Media;

namespace Concerto.Ingest.Core.Tests.Media;

public class FrameSizeTests
{
    [Theory]
    [InlineData(1920, 1080, 518, 518, 292)]
    [InlineData(1280, 720, 518, 518, 292)]
    [InlineData(360, 640, 518, 360, 640)]   // never upscales
    [InlineData(641, 361, 1000, 640, 360)]  // odd sizes become even
    public void FitWidth_KeepsAspectWithEvenSides(int w, int h, int target, int ew, int eh)
    {
        var size = FrameSize.FitWidth(w, h, target);
        Assert.Equal(new FrameSize(ew, eh), size);
        Assert.Equal(ew * eh * 3, size.ByteCount);
    }
}
