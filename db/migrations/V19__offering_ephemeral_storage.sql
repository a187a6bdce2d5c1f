-- What one pod of an offering may write to its host's disk (its containers' writable layers);
-- NULL: only the host's own bound (GPUFLEET_POD_EPHEMERAL_STORAGE) applies.
ALTER TABLE offerings ADD COLUMN ephemeral_storage_bytes bigint CHECK (ephemeral_storage_bytes > 0);
