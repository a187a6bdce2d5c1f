-- A tenant may run several Kubernetes clusters, each with its own tenant-agent. A workload
-- belongs to the cluster whose agent sent it (WorkloadSpec.cluster; 'default' for agents that
-- name none and for rows from before), so that an agent lists, deletes and updates only its own
-- cluster's workloads. Read from the stored spec, so no writer can set the two apart.
ALTER TABLE workloads ADD COLUMN cluster text GENERATED ALWAYS AS (coalesce(spec ->> 'cluster', 'default')) STORED NOT NULL;

-- What an agent lists on every resync.
CREATE INDEX workloads_tenant_cluster ON workloads (tenant, cluster) WHERE deleted_at IS NULL;
