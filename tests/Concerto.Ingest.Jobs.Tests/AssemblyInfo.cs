// Test classes here run one at a time: each starts a pipeline host, and Hangfire keeps process-wide state (its log
// provider points at the latest host's logger factory), so a host disposed by one class would break jobs of another
// running beside it. Production processes host one pipeline.
[assembly: CollectionBehavior(DisableTestParallelization = true)]
