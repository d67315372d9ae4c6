-- The reconstruct stage's outputs: one scene per run (cloud files in the artifact store) and its keyframe cameras.

CREATE TABLE reconstructions (
    run_id       bigint PRIMARY KEY REFERENCES runs (id),
    method       text NOT NULL,                 -- posed, vggt
    model_hash   text,                          -- SHA-256 of the model that produced the depth (licence provenance)
    points       int NOT NULL,
    scale        double precision NOT NULL,     -- scene units per reconstructor unit
    floor_found  boolean NOT NULL,
    artifact_key text NOT NULL,                 -- folder: coord/color/normal.npy, scene.ply, cameras.json
    metrics      jsonb NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now()
);

-- Keyframe cameras in the scene frame (z up, floor at 0): camera-to-world row-major 4x4, OpenCV axes; intrinsics in the
-- pixels of the depth the reconstructor produced (width x height).
CREATE TABLE cameras (
    run_id          bigint NOT NULL REFERENCES runs (id),
    frame_index     int NOT NULL,
    time_s          double precision NOT NULL,
    camera_to_world double precision[] NOT NULL,
    fx              double precision NOT NULL,
    fy              double precision NOT NULL,
    cx              double precision NOT NULL,
    cy              double precision NOT NULL,
    width           int NOT NULL,
    height          int NOT NULL,
    PRIMARY KEY (run_id, frame_index)
);
