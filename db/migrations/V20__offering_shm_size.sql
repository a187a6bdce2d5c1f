-- The /dev/shm a pod of the offering gets when it mounts no memory emptyDir there (GPU training's
-- data loaders share tensors through it); NULL: the engine's default (64Mi).
ALTER TABLE offerings ADD COLUMN shm_size_bytes bigint CHECK (shm_size_bytes > 0);
