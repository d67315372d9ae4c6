-- Reliability: a stage's claim is a lease its job renews (heartbeat_at), so a second execution of the same job can only
-- take over once the first has stopped renewing; and the key a stage is about to publish is recorded first
-- (publishing_key), so outputs left by a worker that died between publishing and committing are found and deleted by
-- the next execution. owner_job now holds a claim id: "<hangfire job id>/<execution>".
ALTER TABLE run_stages ADD COLUMN heartbeat_at timestamptz;
ALTER TABLE run_stages ADD COLUMN publishing_key text;
