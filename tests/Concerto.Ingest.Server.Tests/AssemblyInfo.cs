// Every test starts a served app with its own database, but Hangfire keeps one job storage per process
// (JobStorage.Current): apps running at once would enqueue into each other's database.
[assembly: CollectionBehavior(DisableTestParallelization = true)]
