-- GPU Fleet: tenants, offerings, hosts, their GPUs, and the tokens that reach them.
-- Hosts keep identity, liveness, heartbeats and inventory in separate rows: a heartbeat
-- touches one narrow row, never the wide inventory (as Kubernetes node leases do).

CREATE TABLE tenants (
    name        text PRIMARY KEY CHECK (name ~ '^[a-z0-9-]{1,40}$'),
    created_at  timestamptz NOT NULL DEFAULT now(),
    disabled_at timestamptz
);

CREATE TABLE offerings (
    name         text PRIMARY KEY CHECK (name ~ '^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$'),
    gpu_model    text   NOT NULL,
    gpu_count    int    NOT NULL CHECK (gpu_count BETWEEN 1 AND 16),
    cpu_millis   bigint NOT NULL CHECK (cpu_millis > 0),
    memory_bytes bigint NOT NULL CHECK (memory_bytes > 0),
    created_at   timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE tenant_offerings (
    tenant   text NOT NULL REFERENCES tenants (name) ON DELETE CASCADE,
    offering text NOT NULL REFERENCES offerings (name) ON DELETE CASCADE,
    PRIMARY KEY (tenant, offering)
);

CREATE TABLE hosts (
    id                  uuid PRIMARY KEY,
    name                text NOT NULL UNIQUE,
    liveness            text NOT NULL DEFAULT 'not-ready' CHECK (liveness IN ('ready', 'not-ready', 'lost')),
    cordoned            boolean NOT NULL DEFAULT false,
    registered_at       timestamptz NOT NULL DEFAULT now(),
    liveness_changed_at timestamptz NOT NULL DEFAULT now()
);

-- One narrow row per host, rewritten by every heartbeat; low fillfactor keeps updates HOT.
CREATE TABLE host_heartbeats (
    host_id uuid PRIMARY KEY REFERENCES hosts (id) ON DELETE CASCADE,
    seen_at timestamptz NOT NULL
) WITH (fillfactor = 50);

CREATE TABLE host_inventory (
    host_id                  uuid PRIMARY KEY REFERENCES hosts (id) ON DELETE CASCADE,
    generation               bigint NOT NULL,
    reported_at              timestamptz NOT NULL DEFAULT now(),
    driver_version           text,
    cuda_version             text,
    cpu_millis               bigint NOT NULL,
    memory_bytes             bigint NOT NULL,
    allocatable_cpu_millis   bigint NOT NULL,
    allocatable_memory_bytes bigint NOT NULL,
    conditions               jsonb  NOT NULL DEFAULT '[]'
);

CREATE TABLE gpus (
    uuid               text PRIMARY KEY,
    host_id            uuid NOT NULL REFERENCES hosts (id) ON DELETE CASCADE,
    idx                int  NOT NULL,
    model              text NOT NULL,
    memory_bytes       bigint NOT NULL,
    memory_used_bytes  bigint,
    pci_bus_id         text,
    numa_node          int,
    mig_enabled        boolean,
    healthy            boolean NOT NULL,
    health_reason      text,
    utilization_gpu    int,
    utilization_memory int,
    temperature_c      int,
    power_mw           bigint,
    topology           jsonb NOT NULL DEFAULT '{}',
    present            boolean NOT NULL DEFAULT true,
    updated_at         timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX gpus_host ON gpus (host_id);
CREATE INDEX gpus_model_uuid ON gpus (model, uuid);

-- A GPU given to a tenant. At most one live allocation per GPU: the database itself refuses a
-- second, whatever the code above it does. (Workloads arrive in a later migration.)
CREATE TABLE gpu_allocations (
    id           bigserial PRIMARY KEY,
    gpu_uuid     text NOT NULL REFERENCES gpus (uuid),
    tenant       text NOT NULL REFERENCES tenants (name),
    allocated_at timestamptz NOT NULL DEFAULT now(),
    released_at  timestamptz
);
CREATE UNIQUE INDEX gpu_allocations_live ON gpu_allocations (gpu_uuid) WHERE released_at IS NULL;
CREATE INDEX gpu_allocations_tenant ON gpu_allocations (tenant) WHERE released_at IS NULL;

CREATE TABLE tokens (
    id          uuid PRIMARY KEY,
    role        text  NOT NULL CHECK (role IN ('operator', 'tenant', 'host', 'join')),
    tenant      text  REFERENCES tenants (name) ON DELETE CASCADE,
    host_id     uuid  REFERENCES hosts (id) ON DELETE CASCADE,
    secret_hash bytea NOT NULL UNIQUE,
    description text,
    created_at  timestamptz NOT NULL DEFAULT now(),
    expires_at  timestamptz,
    revoked_at  timestamptz,
    CHECK ((role = 'tenant') = (tenant IS NOT NULL)),
    CHECK ((role = 'host') = (host_id IS NOT NULL))
);
