-- A route belongs to the cluster whose tenant-agent published it, as a workload does (V21): an
-- agent lists, replaces and removes only its own cluster's routes. Before, an agent removed every
-- route of its tenant whose Service it did not know, which took down the public names of the
-- tenant's other clusters. Rows from before, and agents that name no cluster, are 'default'.
ALTER TABLE routes ADD COLUMN cluster text NOT NULL DEFAULT 'default';
CREATE INDEX routes_tenant_cluster ON routes (tenant, cluster);
