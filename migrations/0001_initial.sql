-- Catalogue of ingested videos, pipeline runs and their stages, and the first stage outputs (frames, keyframes).
-- Hangfire keeps its own tables in the "hangfire" schema.

CREATE TABLE profiles (
    hash        text PRIMARY KEY,              -- SHA-256 of the canonical profile JSON
    name        text NOT NULL,
    version     int NOT NULL,
    body        jsonb NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE videos (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    sha256      bytea NOT NULL UNIQUE,         -- content identity: the same bytes under two names are one video
    size_bytes  bigint NOT NULL,
    path        text NOT NULL,                 -- where it was first seen
    container   text NOT NULL,
    codec       text NOT NULL,
    width       int NOT NULL,                  -- as displayed (rotation applied)
    height      int NOT NULL,
    rotation    int NOT NULL,
    frame_rate  double precision NOT NULL,
    duration_s  double precision NOT NULL,
    frame_count bigint,
    has_audio   boolean NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now()
);

-- A run is one video processed with one profile; re-running the pair replaces its outputs.
CREATE TABLE runs (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    video_id     bigint NOT NULL REFERENCES videos (id),
    profile_hash text NOT NULL REFERENCES profiles (hash),
    created_at   timestamptz NOT NULL DEFAULT now(),
    UNIQUE (video_id, profile_hash)
);

-- An ingest command's submission: the files it named, each a source.
CREATE TABLE ingest_batches (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    profile_hash text NOT NULL REFERENCES profiles (hash),
    force        boolean NOT NULL DEFAULT false,   -- re-run stages that already succeeded
    created_at   timestamptz NOT NULL DEFAULT now()
);

-- One path named in a batch. The probe stage works on sources (the video is unknown until hashed).
CREATE TABLE sources (
    id               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    batch_id         bigint NOT NULL REFERENCES ingest_batches (id),
    path             text NOT NULL,
    state            text NOT NULL DEFAULT 'queued',
    video_id         bigint REFERENCES videos (id),
    run_id           bigint REFERENCES runs (id),
    probe_executions int NOT NULL DEFAULT 0,
    worker           text,                         -- worker that probed it
    error            text,
    started_at       timestamptz,
    finished_at      timestamptz,
    updated_at       timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX sources_batch ON sources (batch_id);

-- State of each stage of a run. A job claims its stage before working (owner_job), so the same stage never runs
-- twice at once and a job re-delivered after a crash takes its own stage back.
CREATE TABLE run_stages (
    run_id         bigint NOT NULL REFERENCES runs (id),
    stage          text NOT NULL,
    state          text NOT NULL DEFAULT 'pending',
    owner_job      text,
    batch_id       bigint REFERENCES ingest_batches (id),   -- batch that last claimed the stage
    executions     int NOT NULL DEFAULT 0,                   -- times the stage's work started
    progress_done  bigint NOT NULL DEFAULT 0,
    progress_total bigint NOT NULL DEFAULT 0,
    artifact_key   text,                                     -- published output folder in the artifact store
    metrics        jsonb,
    error          text,
    worker         text,
    started_at     timestamptz,
    finished_at    timestamptz,
    updated_at     timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (run_id, stage)
);

-- Sharpness of every analysed frame (blur rejection is explainable afterwards).
CREATE TABLE frame_scores (
    run_id      bigint NOT NULL REFERENCES runs (id),
    frame_index int NOT NULL,
    time_s      double precision NOT NULL,
    sharpness   real NOT NULL,
    PRIMARY KEY (run_id, frame_index)
);

CREATE TABLE keyframes (
    run_id       bigint NOT NULL REFERENCES runs (id),
    frame_index  int NOT NULL,
    time_s       double precision NOT NULL,
    sharpness    real NOT NULL,
    width        int NOT NULL,
    height       int NOT NULL,
    artifact_key text NOT NULL,
    PRIMARY KEY (run_id, frame_index)
);
