namespace Concerto.Ingest.Synthetic.Scenes;

/// <summary>Semantic classes of synthetic scenes (ids as stored in label images and segment.npy).</summary>
public enum SemanticClass
{
    Floor = 0,
    Wall = 1,
    Ceiling = 2,
    Table = 3,
    Chair = 4,
    Cabinet = 5,
    Shelf = 6,
    Column = 7,
    Ball = 8,
    Crate = 9,
    Sofa = 10,
    Picture = 11,
    Door = 12,
}
