-- Training runs of the Concerto trainer (pretraining and linear probes) and their per-step metrics, so dashboards and
-- scripts can follow a run and compare runs without parsing CSV files.

CREATE TABLE training_runs (
    id                 bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    kind               text NOT NULL CHECK (kind IN ('pretrain', 'probe')),
    output_dir         text NOT NULL UNIQUE,           -- checkpoints, metrics.csv; a resumed run keeps its row
    dataset_version_id bigint REFERENCES dataset_versions (id),
    dataset            text NOT NULL,                  -- name@version, or the manifest path outside the catalogue
    profile            jsonb NOT NULL,
    profile_hash       text NOT NULL,
    model_size         text NOT NULL,
    seed               int NOT NULL,
    total_steps        bigint NOT NULL,
    step               bigint NOT NULL DEFAULT 0,      -- last completed step
    state              text NOT NULL DEFAULT 'running' CHECK (state IN ('queued', 'running', 'succeeded', 'failed', 'cancelled')),
    job_id             text,
    error              text,
    results            jsonb,                          -- e.g. a probe's mIoU per class
    created_at         timestamptz NOT NULL DEFAULT now(),
    updated_at         timestamptz NOT NULL DEFAULT now(),
    finished_at        timestamptz
);

CREATE TABLE training_metrics (
    run_id        bigint NOT NULL REFERENCES training_runs (id),
    step          bigint NOT NULL,
    epoch         int NOT NULL,
    seconds       double precision NOT NULL,            -- wall time since the run started
    learning_rate double precision NOT NULL,
    weight_decay  double precision NOT NULL,
    metric_values jsonb NOT NULL,                       -- loss components, points/s, loader wait, ...
    PRIMARY KEY (run_id, step)
);
