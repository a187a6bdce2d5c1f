-- A pod that has finished (Succeeded, or Failed with nothing left to restart) holds nothing:
-- its GPUs are released and its cpu and memory stop counting the moment its host reports the
-- end, while its exited containers stay on the host, so that its logs can be read until the
-- pod is deleted (control-api HostWorkloads). finished_at marks that release, once.
ALTER TABLE workloads ADD COLUMN finished_at timestamptz;

-- What placement and the node figures sum per host: workloads that still hold cpu and memory.
CREATE INDEX workloads_host_holding ON workloads (host_id) WHERE deleted_at IS NULL AND finished_at IS NULL;
