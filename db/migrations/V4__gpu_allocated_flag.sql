-- A flag on the GPU row mirrors "has a live allocation", written in the same transactions as
-- gpu_allocations, so placement's index skips taken GPUs instead of reading past them. The
-- unique index on gpu_allocations remains the guarantee; the flag only makes the search short.
ALTER TABLE gpus ADD COLUMN allocated boolean NOT NULL DEFAULT false;
UPDATE gpus g SET allocated = true
WHERE EXISTS (SELECT 1 FROM gpu_allocations a WHERE a.gpu_uuid = g.uuid AND a.released_at IS NULL);
DROP INDEX gpus_placeable;
CREATE INDEX gpus_free ON gpus (model, host_id) WHERE healthy AND present AND NOT allocated;
