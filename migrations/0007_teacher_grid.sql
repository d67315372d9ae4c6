-- Teachers of any patch grid: the grid a teacher's features are laid out on (rows x columns of patch_size pixels), so a
-- dataset version can tell its trainer how to map correspondences into them. Teachers recorded before this migration
-- had square inputs: their grid follows from the preprocessing they were recorded with (nested under "preprocessing"
-- when augmented copies were cached), DINOv2's 37 x 37 x 14 where it cannot be read.
ALTER TABLE teachers ADD COLUMN grid_rows int;
ALTER TABLE teachers ADD COLUMN grid_columns int;
ALTER TABLE teachers ADD COLUMN patch_size int;

UPDATE teachers t SET
    patch_size = COALESCE((p.settings ->> 'PatchSize')::int, 14),
    grid_rows = COALESCE((p.settings ->> 'ImageSize')::int / NULLIF((p.settings ->> 'PatchSize')::int, 0), 37),
    grid_columns = COALESCE((p.settings ->> 'ImageSize')::int / NULLIF((p.settings ->> 'PatchSize')::int, 0), 37)
FROM (SELECT identity, COALESCE(preprocessing -> 'preprocessing', preprocessing) AS settings FROM teachers) p
WHERE p.identity = t.identity;

ALTER TABLE teachers ALTER COLUMN grid_rows SET NOT NULL;
ALTER TABLE teachers ALTER COLUMN grid_columns SET NOT NULL;
ALTER TABLE teachers ALTER COLUMN patch_size SET NOT NULL;
