-- Per-tenant limits an operator may set over the configured defaults (NULL: the default of
-- GPUFLEET_TENANT_MAX_WORKLOADS, _MAX_ROUTES, _MAX_STREAMS applies). Zero is a real limit: the
-- tenant may have none.
ALTER TABLE tenants
    ADD COLUMN max_workloads int CHECK (max_workloads BETWEEN 0 AND 1000000),
    ADD COLUMN max_routes    int CHECK (max_routes BETWEEN 0 AND 1000000),
    ADD COLUMN max_streams   int CHECK (max_streams BETWEEN 0 AND 1000000);

-- The workload quota counts a tenant's live workloads in the creating transaction.
CREATE INDEX workloads_live_by_tenant ON workloads (tenant) WHERE deleted_at IS NULL;
