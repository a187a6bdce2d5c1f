-- The operators' dashboard: GPU telemetry and tenants' GPU usage over time, and login sessions.
--
-- Telemetry is sampled once a minute by one replica (the dashboard's sampler) from what the
-- gpus rows already hold; heartbeats and inventory reports write nothing more than before.
-- The sampler also prunes: telemetry after 2 hours, usage and rounds after 2 days.

-- The minutes that were sampled. Inserting the minute first lets exactly one replica sample it,
-- and lets a chart tell "no GPU in use" from "not sampled".
CREATE TABLE telemetry_rounds (
    sampled_at timestamptz PRIMARY KEY
);

-- One row per ready host and round, its GPUs in index order in parallel arrays: a round writes
-- one row per host instead of one per GPU. No foreign key to hosts, so a round does not probe
-- hosts per row; rows of a removed host age out with the rest.
CREATE TABLE gpu_telemetry (
    host_id           uuid        NOT NULL,
    sampled_at        timestamptz NOT NULL,
    gpu_uuids         text[]      NOT NULL,
    utilization_gpu   smallint[]  NOT NULL,
    memory_used_bytes bigint[]    NOT NULL,
    temperature_c     smallint[]  NOT NULL,
    power_mw          bigint[]    NOT NULL,
    PRIMARY KEY (host_id, sampled_at)
);
CREATE INDEX gpu_telemetry_sampled_at ON gpu_telemetry (sampled_at);

-- GPUs each tenant held per model at each round; a tenant holding none has no row.
CREATE TABLE tenant_gpu_usage (
    tenant     text        NOT NULL,
    gpu_model  text        NOT NULL,
    sampled_at timestamptz NOT NULL,
    gpus       int         NOT NULL CHECK (gpus > 0),
    PRIMARY KEY (tenant, sampled_at, gpu_model)
);
CREATE INDEX tenant_gpu_usage_sampled_at ON tenant_gpu_usage (sampled_at);

-- A signed-in dashboard session, held by an HttpOnly cookie whose SHA-256 is stored here. It
-- lives no longer than the operator token it was opened with: revoking the token ends it.
CREATE TABLE dashboard_sessions (
    secret_hash bytea       PRIMARY KEY,
    token_id    uuid        NOT NULL REFERENCES tokens (id) ON DELETE CASCADE,
    created_at  timestamptz NOT NULL DEFAULT now(),
    expires_at  timestamptz NOT NULL
);
CREATE INDEX dashboard_sessions_expires_at ON dashboard_sessions (expires_at);
