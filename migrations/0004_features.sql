-- The featurize stage's outputs: frozen image-teacher patch features per segment image (fp16 npy files), and which
-- teacher a dataset version's features come from.

-- A teacher is a model file (hash of its weights) with the preprocessing that shapes its features; features with the
-- same identity are the same numbers, so each (segment image, teacher) is computed once and never replaced.
CREATE TABLE teachers (
    identity      text PRIMARY KEY,                 -- SHA-256 of model_hash + preprocessing
    model_hash    text NOT NULL,
    model_file    text NOT NULL,                    -- file name when first used
    width         int NOT NULL,                     -- feature channels D
    tokens        int NOT NULL,                     -- patch tokens per image ((imageSize / patchSize)^2)
    preprocessing jsonb NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE segment_features (
    segment_id   bigint NOT NULL REFERENCES segments (id),
    slot         smallint NOT NULL,
    teacher      text NOT NULL REFERENCES teachers (identity),
    artifact_key text NOT NULL,                     -- float16 npy [tokens, width]
    run_id       bigint NOT NULL REFERENCES runs (id),
    created_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (segment_id, slot, teacher)
);

ALTER TABLE dataset_versions ADD COLUMN teacher text REFERENCES teachers (identity);   -- null: no features listed
