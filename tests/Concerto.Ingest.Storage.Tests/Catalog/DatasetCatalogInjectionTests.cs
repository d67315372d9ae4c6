using Concerto.Ingest.Core.Datasets;
using Concerto.Ingest.Core.Datasets.Filter;
using Concerto.Ingest.Storage.Catalog;
using Concerto.Ingest.TestSupport;
using Npgsql;

namespace Concerto.Ingest.Storage.Tests.Catalog;

/// <summary>The catalogue as the CLI uses it (`concerto dataset create|show|export|pull`), fed injection attempts
/// against a real database holding videos whose paths are themselves SQL-looking text. A literal must select exactly
/// the rows whose value equals it (so a quote in it cannot widen the match), anything else must be refused before a
/// version exists, and afterwards every table must hold exactly what it held before.</summary>
public sealed class DatasetCatalogInjectionTests : IClassFixture<DatasetCatalogInjectionTests.SeededCatalog>
{
    private const string QuotedPath = "x' OR 1=1 --";
    private const string UnicodePath = "/videos/ｘ＇ OR 1=1 -- \u202Egnp.🎥";
    private static readonly IReadOnlyList<DatasetSplit> Splits = DatasetSplits.Parse("train=0.5,val=0.5");
    private readonly SeededCatalog _seeded;

    public DatasetCatalogInjectionTests(SeededCatalog seeded) => _seeded = seeded;

    private DatasetCatalog Catalog => new(_seeded.Db.DataSource);

    /// <summary>Three runs: a plain path (3 segments), one whose path is a classic injection (2), and one of look-alike
    /// and invisible characters (1).</summary>
    public sealed class SeededCatalog : IAsyncLifetime
    {
        public TestDatabase Db { get; } = new();

        public IReadOnlyDictionary<string, long> Runs { get; private set; } = null!;

        public async Task InitializeAsync()
        {
            await Db.InitializeAsync();
            Runs = new Dictionary<string, long>
            {
                ["/videos/plain.mp4"] = await CatalogRows.SegmentedRunAsync(Db.DataSource, CatalogSeed.DefaultProfile, "/videos/plain.mp4", 3),
                [QuotedPath] = await CatalogRows.SegmentedRunAsync(Db.DataSource, CatalogSeed.DefaultProfile, QuotedPath, 2),
                [UnicodePath] = await CatalogRows.SegmentedRunAsync(Db.DataSource, CatalogSeed.DefaultProfile, UnicodePath, 1),
            };
        }

        public Task DisposeAsync() => Db.DisposeAsync();
    }

    public static TheoryData<string, string> LiteralsThatLookLikeSql => new()
    {
        { "source.path = 'x'' OR 1=1 --'", QuotedPath },
        { "source.path like 'x'' OR %'", QuotedPath },
        { "source.path in ('nothing'' OR 1=1 --', 'x'' OR 1=1 --')", QuotedPath },
        { "not source.path != 'x'' OR 1=1 --' and points >= 0", QuotedPath },
        { $"source.path = '{UnicodePath.Replace("'", "''", StringComparison.Ordinal)}'", UnicodePath },
        { "source.path like '%🎥'", UnicodePath },
    };

    [Theory]
    [MemberData(nameof(LiteralsThatLookLikeSql))]
    public async Task Create_SelectsExactlyTheRowsEqualToALiteral_WhateverSqlItHolds(string filter, string path)
    {
        var version = await Catalog.CreateAsync("literal", filter, Splits, seed: 1, CancellationToken.None);

        var members = await Catalog.MembersAsync(version.Id, CancellationToken.None);
        Assert.NotEmpty(members);
        Assert.All(members, m => Assert.Equal(_seeded.Runs[path], m.RunId));
        Assert.All(members, m => Assert.Equal(path, m.SourcePath));
        Assert.Equal(await SegmentCountAsync(_seeded.Runs[path]), members.Count);
        // What the version records is the canonical filter, which reads back to the same filter.
        Assert.Equal(DatasetCatalog.ParseFilter(filter), DatasetCatalog.ParseFilter(version.Filter));
    }

    [Theory]
    [InlineData("source.path = 'nothing'' OR 1=1 --'")]
    [InlineData("source.path = ''' OR ''1''=''1'")]
    [InlineData("source.path like '%'' OR ''1''=''1'")]
    [InlineData("source.path = 'x''; DROP TABLE segments; --'")]
    [InlineData("source.path = 'x''); DELETE FROM segments; --'")]
    [InlineData("source.path = '$$; DROP TABLE segments; $$'")]
    [InlineData("source.path = 'x'' || pg_sleep(5) || '''")]
    [InlineData("source.codec = 'h264'' AND pg_sleep(5) IS NULL --'")]
    public async Task Create_MatchesNothing_WhenALiteralTriesToWidenOrStack(string filter)
    {
        var before = await CatalogRows.FingerprintAsync(_seeded.Db.DataSource);

        var e = await Assert.ThrowsAsync<InvalidOperationException>(() =>
            Catalog.CreateAsync("stacked", filter, Splits, seed: 1, CancellationToken.None));

        Assert.StartsWith("no segment matches", e.Message, StringComparison.Ordinal);
        Assert.Equal(before, await CatalogRows.FingerprintAsync(_seeded.Db.DataSource));
    }

    [Theory]
    [InlineData("label = \"a\\\"; DROP TABLE segments; --\"")]
    [InlineData("label = 'a'; DROP TABLE segments; --")]
    [InlineData("source.path = '' OR '1'='1'")]
    [InlineData("source.path = '\\'; DROP TABLE segments; --'")]
    [InlineData("pg_sleep(5)")]
    [InlineData("points > 0 or pg_sleep(5) is null")]
    [InlineData("1=1; DELETE FROM segments")]
    [InlineData("points > 0; DELETE FROM segments")]
    [InlineData("points > 0 -- and labelled")]
    [InlineData("points > 0) OR (1=1")]
    [InlineData("points > (SELECT count(*) FROM segments)")]
    [InlineData("s.points > 0")]
    [InlineData("points::text = '1'")]
    [InlineData("source.path = \u2019x\u2019 OR 1=1")]
    [InlineData("source.path = \uFF07x\uFF07 OR 1=1")]
    [InlineData("p\u03BFints > 0")]
    [InlineData("points\u200B > 0")]
    [InlineData("points > 0 \u037E DELETE FROM segments")]
    [InlineData("source.path = 'a\0'' OR 1=1 --'")]
    public async Task Create_RefusesFiltersThatAreNotTheLanguage_AndChangesNothing(string filter)
    {
        var before = await CatalogRows.FingerprintAsync(_seeded.Db.DataSource);

        await Assert.ThrowsAsync<FilterException>(() => Catalog.CreateAsync("refused", filter, Splits, seed: 1, CancellationToken.None));

        Assert.Equal(before, await CatalogRows.FingerprintAsync(_seeded.Db.DataSource));
        await Assert.ThrowsAsync<KeyNotFoundException>(() => Catalog.GetAsync("refused", null, CancellationToken.None));
    }

    [Fact]
    public async Task Create_RefusesHugeAndDeeplyNestedFilters_WithAnError_NotACrash()
    {
        var before = await CatalogRows.FingerprintAsync(_seeded.Db.DataSource);
        var cases = new (string Filter, string Reason)[]
        {
            (new string('(', 100_000), "filter is too long"),
            (new string('(', 100_000) + "points > 0" + new string(')', 100_000), "filter is too long"),
            (new string('(', FilterExpression.MaxLength), "filter nests too deeply"),
            (string.Concat(Enumerable.Repeat("not ", 900)) + "labelled", "filter nests too deeply"),
            ("source.path = '" + new string('x', 10_000) + "'", "filter is too long"),
            ("source.path = '\uD800'", "the filter holds an unpaired UTF-16 surrogate"),
        };
        foreach (var (filter, reason) in cases)
        {
            var e = await Assert.ThrowsAsync<FilterException>(() => Catalog.CreateAsync("huge", filter, Splits, seed: 1, CancellationToken.None));
            Assert.StartsWith(reason, e.Reason, StringComparison.Ordinal);
        }

        Assert.Equal(before, await CatalogRows.FingerprintAsync(_seeded.Db.DataSource));
    }

    [Fact]
    public async Task Create_TakesTheLongestOrChain_AsOneQuery()
    {
        var parts = new List<string>();
        while ((parts.Count + 1) * "source.path = 'x'' OR 1=1 --' or ".Length < FilterExpression.MaxLength) parts.Add("source.path = 'x'' OR 1=1 --'");

        var version = await Catalog.CreateAsync("chain", string.Join(" or ", parts), Splits, seed: 1, CancellationToken.None);

        Assert.Equal(await SegmentCountAsync(_seeded.Runs[QuotedPath]), version.Segments);
    }

    [Theory]
    [InlineData("../x")]
    [InlineData("..")]
    [InlineData(".")]
    [InlineData(".hidden")]
    [InlineData("a;b")]
    [InlineData("'; DROP TABLE dataset_versions; --")]
    [InlineData("a' OR '1'='1")]
    [InlineData("a/b")]
    [InlineData("a\\b")]
    [InlineData("/etc/passwd")]
    [InlineData("C:x")]
    [InlineData("x\0y")]
    [InlineData(" x")]
    [InlineData("x y")]
    [InlineData("x\n")]
    [InlineData("-rf")]
    [InlineData("ｘ")]
    [InlineData("rooms\u202E")]
    [InlineData("%2e%2e")]
    [InlineData("")]
    public async Task DatasetNames_ThatAreNotPlainNames_AreRefused_AndNeverReachTheDatabase(string name)
    {
        var before = await CatalogRows.FingerprintAsync(_seeded.Db.DataSource);

        var created = await Assert.ThrowsAsync<ArgumentException>(() => Catalog.CreateAsync(name, null, Splits, seed: 1, CancellationToken.None));
        var looked = await Assert.ThrowsAsync<KeyNotFoundException>(() => Catalog.GetAsync(name, null, CancellationToken.None));

        Assert.Contains("dataset name", created.Message, StringComparison.Ordinal);
        Assert.DoesNotContain('\0', created.Message + looked.Message);
        Assert.False(DatasetCatalog.IsValidName(name));
        Assert.Equal(before, await CatalogRows.FingerprintAsync(_seeded.Db.DataSource));
    }

    [Fact]
    public async Task DatasetNames_AtTheLengthLimit_AreAccepted_AndOneMoreIsRefused()
    {
        var longest = new string('a', 100);
        Assert.Equal(longest, (await Catalog.CreateAsync(longest, null, Splits, seed: 1, CancellationToken.None)).Name);
        await Assert.ThrowsAsync<ArgumentException>(() => Catalog.CreateAsync(longest + "a", null, Splits, seed: 1, CancellationToken.None));
        Assert.Equal("rooms.v2_b-1", (await Catalog.CreateAsync("rooms.v2_b-1", null, Splits, seed: 1, CancellationToken.None)).Name);
    }

    [Theory]
    [InlineData("'; DROP TABLE teachers; --")]
    [InlineData("%")]
    [InlineData("_")]
    [InlineData("ab' OR '1'='1")]
    public async Task Teacher_ThatIsNotHex_IsRefused(string teacher)
    {
        var before = await CatalogRows.FingerprintAsync(_seeded.Db.DataSource);

        await Assert.ThrowsAsync<ArgumentException>(() => Catalog.CreateAsync("taught", null, Splits, seed: 1, CancellationToken.None, teacher));

        Assert.Equal(before, await CatalogRows.FingerprintAsync(_seeded.Db.DataSource));
    }

    [Fact]
    public async Task LocalFolderName_IsOneSegmentInsideItsParent_AndRefusesRowsWithHostileNames()
    {
        var version = await Catalog.CreateAsync("folder.test", null, Splits, seed: 1, CancellationToken.None);
        var parent = Path.Combine(Path.GetTempPath(), "state", "datasets");

        var folder = Path.GetFullPath(Path.Combine(parent, DatasetCatalog.LocalFolderName(version)));

        Assert.Equal($"folder.test@{version.Version}-{version.Hash[..12]}", Path.GetFileName(folder));
        Assert.Equal(Path.GetFullPath(parent), Path.GetDirectoryName(folder));

        // A row that did not come through CreateAsync (written by hand, or by an older program) cannot name a folder
        // outside state/datasets, and cannot be fetched by that name either.
        await using (var insert = _seeded.Db.DataSource.CreateCommand("""
            INSERT INTO dataset_versions (name, version, filter, splits, seed, segments, counts, hash)
            SELECT '../../escaped', 1, NULL, splits, seed, segments, counts, hash FROM dataset_versions WHERE id = $1
            """))
        {
            insert.Parameters.Add(new NpgsqlParameter { Value = version.Id });
            await insert.ExecuteNonQueryAsync();
        }

        var hostile = Assert.Single(await Catalog.ListAsync(CancellationToken.None), v => v.Name == "../../escaped");
        Assert.Throws<InvalidOperationException>(() => DatasetCatalog.LocalFolderName(hostile));
        await Assert.ThrowsAsync<KeyNotFoundException>(() => Catalog.GetAsync("../../escaped", 1, CancellationToken.None));
        foreach (var name in new[] { "..", "a/b", "a\\b", "/abs", "" })
            Assert.Throws<InvalidOperationException>(() => DatasetCatalog.LocalFolderName(version with { Name = name }));
        foreach (var hash in new[] { "../../../../x", "short", new string('G', 64) })
            Assert.Throws<InvalidOperationException>(() => DatasetCatalog.LocalFolderName(version with { Hash = hash }));

        await using var delete = _seeded.Db.DataSource.CreateCommand("DELETE FROM dataset_versions WHERE name = '../../escaped'");
        await delete.ExecuteNonQueryAsync();
    }

    private async Task<long> SegmentCountAsync(long runId) =>
        await _seeded.Db.CountAsync("SELECT count(*) FROM segments WHERE run_id = $1 AND retired_at IS NULL", runId);
}
