-- The cpu and memory each host's live workloads hold, kept by the database in the same
-- transaction as every write that changes them, so that placement reads a host's use by its key.
-- Placement used to sum the host's workloads in its statements; on a workloads table PostgreSQL
-- had not yet analyzed (a fresh deployment, a newly filled table, until autovacuum caught up),
-- the planner, taking the table for empty, summed them by scanning every live workload for each
-- candidate host, and the plan cached on each connection kept doing so: placement ran at a
-- fraction of its speed until the next ANALYZE. A lookup by primary key has no such flip.
-- No foreign key to hosts: its check takes a key-share lock on the host row at every change of
-- use, which deadlocked releases with placements that hold the host row FOR UPDATE.
CREATE TABLE host_usage (
    host_id      uuid PRIMARY KEY,
    cpu_millis   bigint NOT NULL,
    memory_bytes bigint NOT NULL
);

-- A workload holds its host's cpu and memory while it is placed there, not deleted and not finished
-- (finished ones keep their exited containers only for their logs).
CREATE FUNCTION workloads_host_usage() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP <> 'INSERT' AND OLD.host_id IS NOT NULL AND OLD.deleted_at IS NULL AND OLD.finished_at IS NULL THEN
        UPDATE host_usage SET cpu_millis = cpu_millis - OLD.cpu_millis, memory_bytes = memory_bytes - OLD.memory_bytes
        WHERE host_id = OLD.host_id;
    END IF;
    IF TG_OP <> 'DELETE' AND NEW.host_id IS NOT NULL AND NEW.deleted_at IS NULL AND NEW.finished_at IS NULL THEN
        INSERT INTO host_usage AS u (host_id, cpu_millis, memory_bytes) VALUES (NEW.host_id, NEW.cpu_millis, NEW.memory_bytes)
        ON CONFLICT (host_id) DO UPDATE SET cpu_millis = u.cpu_millis + EXCLUDED.cpu_millis,
                                            memory_bytes = u.memory_bytes + EXCLUDED.memory_bytes;
    END IF;
    RETURN NULL;
END $$;

CREATE TRIGGER workloads_host_usage_written AFTER INSERT OR DELETE ON workloads
    FOR EACH ROW EXECUTE FUNCTION workloads_host_usage();
-- Status reports rewrite workloads all the time; only a change of what a host holds runs the trigger.
CREATE TRIGGER workloads_host_usage_changed AFTER UPDATE OF host_id, deleted_at, finished_at, cpu_millis, memory_bytes ON workloads
    FOR EACH ROW WHEN (OLD.host_id IS DISTINCT FROM NEW.host_id OR OLD.deleted_at IS DISTINCT FROM NEW.deleted_at
                       OR OLD.finished_at IS DISTINCT FROM NEW.finished_at OR OLD.cpu_millis <> NEW.cpu_millis
                       OR OLD.memory_bytes <> NEW.memory_bytes)
    EXECUTE FUNCTION workloads_host_usage();

INSERT INTO host_usage (host_id, cpu_millis, memory_bytes)
SELECT host_id, sum(cpu_millis), sum(memory_bytes) FROM workloads
WHERE host_id IS NOT NULL AND deleted_at IS NULL AND finished_at IS NULL GROUP BY host_id;

-- Free GPUs (healthy, present, not allocated) per host and model, kept the same way from gpus:
-- placement finds hosts with enough free GPUs by walking host_free_fit, fewest free first (best
-- fit), instead of counting GPUs host after host, which in a fragmented fleet meant walking
-- every host of the model for an 8-GPU pod.
CREATE TABLE host_free (
    host_id uuid NOT NULL,
    model   text NOT NULL,
    free    int  NOT NULL,
    PRIMARY KEY (host_id, model)
);
CREATE INDEX host_free_fit ON host_free (model, free, host_id);

CREATE FUNCTION gpus_host_free() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP <> 'INSERT' AND OLD.healthy AND OLD.present AND NOT OLD.allocated THEN
        UPDATE host_free SET free = free - 1 WHERE host_id = OLD.host_id AND model = OLD.model;
    END IF;
    IF TG_OP <> 'DELETE' AND NEW.healthy AND NEW.present AND NOT NEW.allocated THEN
        INSERT INTO host_free AS f (host_id, model, free) VALUES (NEW.host_id, NEW.model, 1)
        ON CONFLICT (host_id, model) DO UPDATE SET free = f.free + 1;
    END IF;
    RETURN NULL;
END $$;

CREATE TRIGGER gpus_host_free_written AFTER INSERT OR DELETE ON gpus
    FOR EACH ROW EXECUTE FUNCTION gpus_host_free();
-- Telemetry and inventory reports rewrite gpus often; only a change of what is free runs the trigger.
CREATE TRIGGER gpus_host_free_changed AFTER UPDATE OF host_id, model, healthy, present, allocated ON gpus
    FOR EACH ROW WHEN (OLD.host_id IS DISTINCT FROM NEW.host_id OR OLD.model IS DISTINCT FROM NEW.model
                       OR OLD.healthy IS DISTINCT FROM NEW.healthy OR OLD.present IS DISTINCT FROM NEW.present
                       OR OLD.allocated IS DISTINCT FROM NEW.allocated)
    EXECUTE FUNCTION gpus_host_free();

INSERT INTO host_free (host_id, model, free)
SELECT host_id, model, count(*) FROM gpus WHERE healthy AND present AND NOT allocated GROUP BY host_id, model;
