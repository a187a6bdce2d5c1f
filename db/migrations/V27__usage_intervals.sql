-- Metering: one row per GPU allocation, from the moment placement gives the GPU to a pod to the
-- moment it comes back. Written by the same statements as gpu_allocations (placement's write,
-- the releases in HostWorkloads and LivenessJob), so an interval exists exactly when an
-- allocation does: none is lost on a crash or counted twice on a retry, and a control-api
-- restart changes nothing (nothing about usage lives in a process).
--
-- The time of every start and end is usage_clock(): the database's transaction time. One clock
-- for the whole fleet (replicas' clocks differ; an interval started on one replica and ended on
-- another must not come out negative), and the same instant as the transition's other writes.
-- It is a function only so that a test can replace it with a clock it sets, and simulate a day
-- to the second (control-api UsageIT); PostgreSQL inlines it, so production pays nothing.
CREATE FUNCTION usage_clock() RETURNS timestamptz LANGUAGE sql STABLE AS 'SELECT now()';

-- What the interval was, copied at its start, so that a bill reads one table and stays right
-- whatever later happens to the workload, GPU or host rows. No foreign keys: retention prunes
-- this table on its own schedule, and a key check on every placement would lock the parents.
CREATE TABLE usage_intervals (
    allocation_id bigint      PRIMARY KEY,  -- the gpu_allocations row; releases find it by this key
    tenant        text        NOT NULL,
    cluster       text        NOT NULL,
    offering      text        NOT NULL,
    namespace     text        NOT NULL,
    pod_name      text        NOT NULL,
    pod_uid       text        NOT NULL,
    workload_id   uuid        NOT NULL,
    host_id       uuid        NOT NULL,
    gpu_uuid      text        NOT NULL,
    gpu_model     text        NOT NULL,
    started_at    timestamptz NOT NULL,
    ended_at      timestamptz,              -- NULL while the GPU is held
    -- finished: the pod succeeded or failed; deleted: its containers were removed after a delete
    -- (tenant, tenant-agent's clean-up); evicted: after a host's eviction or an operator's drain;
    -- host-lost: its host stopped reporting and was declared lost.
    end_reason    text CHECK (end_reason IN ('finished', 'deleted', 'evicted', 'host-lost')),
    CHECK ((ended_at IS NULL) = (end_reason IS NULL)),
    CHECK (ended_at >= started_at)
);

-- /v1/usage asks "intervals of this tenant that overlap [from, to)": an interval overlaps when
-- it ends after from (open ones never end: 'infinity') and starts before to. The end comes first
-- in the key so the scan starts at from and not at the tenant's first interval; the rest of
-- what a query reads is included, so the answer comes from the index alone.
CREATE INDEX usage_intervals_tenant_end ON usage_intervals (tenant, (coalesce(ended_at, 'infinity')))
    INCLUDE (started_at, ended_at, offering, gpu_model);
-- The same for operators' queries over every tenant, and for retention's prune.
CREATE INDEX usage_intervals_end ON usage_intervals ((coalesce(ended_at, 'infinity')))
    INCLUDE (started_at, ended_at, tenant, offering, gpu_model);

-- Allocations made before this migration: open ones must be metered from now on, closed ones
-- are history a provider may already have billed from the samples; both are copied as they are.
INSERT INTO usage_intervals (allocation_id, tenant, cluster, offering, namespace, pod_name, pod_uid, workload_id,
                             host_id, gpu_uuid, gpu_model, started_at, ended_at, end_reason)
SELECT a.id, a.tenant, w.cluster, w.offering, w.namespace, w.name, w.pod_uid, w.id, g.host_id, g.uuid, g.model,
       a.allocated_at, a.released_at,
       CASE WHEN a.released_at IS NULL THEN NULL
            WHEN w.reason = 'HostLost' THEN 'host-lost'
            WHEN w.reason IN ('Evicted', 'DeadlineExceeded') THEN 'evicted'
            WHEN w.finished_at IS NOT NULL AND w.finished_at <= a.released_at THEN 'finished'
            ELSE 'deleted' END
FROM gpu_allocations a JOIN workloads w ON w.id = a.workload_id JOIN gpus g ON g.uuid = a.gpu_uuid;
