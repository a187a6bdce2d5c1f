-- Workloads: one tenant pod on the provider side, placed on one host with pinned GPUs.

CREATE TABLE workloads (
    id                    uuid PRIMARY KEY,
    tenant                text   NOT NULL REFERENCES tenants (name),
    pod_uid               text   NOT NULL,
    namespace             text   NOT NULL,
    name                  text   NOT NULL,
    offering              text   NOT NULL,
    spec                  jsonb  NOT NULL,
    gpu_count             int    NOT NULL CHECK (gpu_count >= 1),
    cpu_millis            bigint NOT NULL CHECK (cpu_millis > 0),
    memory_bytes          bigint NOT NULL CHECK (memory_bytes > 0),
    host_id               uuid REFERENCES hosts (id),
    -- pending (not placed yet), placed, running, succeeded, failed; deleted when gone for good.
    phase                 text   NOT NULL CHECK (phase IN ('pending', 'placed', 'running', 'succeeded', 'failed', 'deleted')),
    reason                text,
    message               text,
    status                jsonb  NOT NULL DEFAULT '{}',
    status_generation     bigint NOT NULL DEFAULT 0,
    created_at            timestamptz NOT NULL DEFAULT now(),
    updated_at            timestamptz NOT NULL DEFAULT now(),
    deletion_requested_at timestamptz,
    deleted_at            timestamptz,
    UNIQUE (tenant, pod_uid)
);
CREATE INDEX workloads_host_live ON workloads (host_id) WHERE deleted_at IS NULL;
CREATE INDEX workloads_pending ON workloads (created_at) WHERE phase = 'pending';

-- Every live allocation belongs to a workload's container.
ALTER TABLE gpu_allocations ADD COLUMN workload_id uuid REFERENCES workloads (id);
ALTER TABLE gpu_allocations ADD COLUMN container text;
CREATE INDEX gpu_allocations_workload ON gpu_allocations (workload_id) WHERE released_at IS NULL;

-- Bumped whenever a host's desired workloads change; host-agents long-poll on it.
ALTER TABLE hosts ADD COLUMN desired_version bigint NOT NULL DEFAULT 0;
