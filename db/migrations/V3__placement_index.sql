-- Placement walks a model's healthy GPUs host by host and stops at the first few hosts that fit,
-- so it reads a handful of rows rather than the whole fleet.
CREATE INDEX gpus_placeable ON gpus (model, host_id) WHERE healthy AND present;
