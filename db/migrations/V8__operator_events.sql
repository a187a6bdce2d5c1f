-- Recent history for operators (gpuctl describe): host liveness and cordon changes, GPUs that
-- appear or change health, workload placements and phase changes. Triggers write each event in
-- the transaction that made the change, whichever code path made it, so no writer can forget one.
-- host_id is the host the object was on at the time: a host's history includes its GPUs' and
-- workloads' events.

CREATE TABLE events (
    id      bigserial PRIMARY KEY,
    at      timestamptz NOT NULL DEFAULT now(),
    kind    text NOT NULL CHECK (kind IN ('host', 'gpu', 'workload')),
    object  text NOT NULL,
    host_id uuid REFERENCES hosts (id) ON DELETE CASCADE,
    type    text NOT NULL CHECK (type IN ('Normal', 'Warning')),
    reason  text NOT NULL,
    message text NOT NULL
);
CREATE INDEX events_object ON events (kind, object, id);
CREATE INDEX events_host ON events (host_id, id);

CREATE FUNCTION events_host() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO events (kind, object, host_id, type, reason, message)
        VALUES ('host', NEW.id::text, NEW.id, 'Normal', 'Registered', 'host ' || NEW.name || ' registered');
        RETURN NULL;
    END IF;
    IF NEW.liveness IS DISTINCT FROM OLD.liveness THEN
        INSERT INTO events (kind, object, host_id, type, reason, message)
        VALUES ('host', NEW.id::text, NEW.id, CASE WHEN NEW.liveness = 'ready' THEN 'Normal' ELSE 'Warning' END,
                CASE NEW.liveness WHEN 'ready' THEN 'HostReady' WHEN 'not-ready' THEN 'HostNotReady' ELSE 'HostLost' END,
                'host ' || NEW.name || ' is ' || NEW.liveness || ' (was ' || OLD.liveness || ')');
    END IF;
    IF NEW.cordoned IS DISTINCT FROM OLD.cordoned THEN
        INSERT INTO events (kind, object, host_id, type, reason, message)
        VALUES ('host', NEW.id::text, NEW.id, 'Normal', CASE WHEN NEW.cordoned THEN 'Cordoned' ELSE 'Uncordoned' END,
                CASE WHEN NEW.cordoned THEN 'host ' || NEW.name || ' cordoned: no new workloads are placed on it'
                     ELSE 'host ' || NEW.name || ' uncordoned: it takes new workloads again' END);
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER hosts_events AFTER INSERT OR UPDATE OF liveness, cordoned ON hosts
    FOR EACH ROW EXECUTE FUNCTION events_host();

CREATE FUNCTION events_gpu() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    host_name text := (SELECT name FROM hosts WHERE id = NEW.host_id);
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO events (kind, object, host_id, type, reason, message)
        VALUES ('gpu', NEW.uuid, NEW.host_id, 'Normal', 'GpuAdded',
                'gpu ' || NEW.idx || ' (' || NEW.model || ') appeared on host ' || host_name);
    END IF;
    IF NOT NEW.healthy AND (TG_OP = 'INSERT' OR OLD.healthy) THEN
        INSERT INTO events (kind, object, host_id, type, reason, message)
        VALUES ('gpu', NEW.uuid, NEW.host_id, 'Warning', 'GpuUnhealthy', 'gpu ' || NEW.idx || ' on host ' || host_name
                || ' is unhealthy: ' || coalesce(NEW.health_reason, 'no reason given'));
    ELSIF TG_OP = 'UPDATE' AND NEW.healthy AND NOT OLD.healthy THEN
        INSERT INTO events (kind, object, host_id, type, reason, message)
        VALUES ('gpu', NEW.uuid, NEW.host_id, 'Normal', 'GpuHealthy', 'gpu ' || NEW.idx || ' on host ' || host_name
                || ' is healthy again');
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER gpus_added AFTER INSERT ON gpus FOR EACH ROW EXECUTE FUNCTION events_gpu();
-- Every inventory report rewrites healthy; the WHEN clause keeps unchanged rows out of PL/pgSQL.
CREATE TRIGGER gpus_health AFTER UPDATE OF healthy ON gpus
    FOR EACH ROW WHEN (OLD.healthy IS DISTINCT FROM NEW.healthy) EXECUTE FUNCTION events_gpu();

-- Workloads: one event per placement and per phase change (no event on insert: a new workload is
-- pending and either placed or refused at once, and that is the event worth having).
CREATE FUNCTION events_workload() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    pod text := NEW.tenant || ' ' || NEW.namespace || '/' || NEW.name;
    host_name text := (SELECT name FROM hosts WHERE id = NEW.host_id);
BEGIN
    IF NEW.phase = 'pending' AND NEW.message IS DISTINCT FROM OLD.message AND NEW.message IS NOT NULL THEN
        INSERT INTO events (kind, object, host_id, type, reason, message)
        VALUES ('workload', NEW.id::text, NULL, 'Warning', coalesce(NEW.reason, 'FailedScheduling'),
                'pod ' || pod || ' is pending: ' || NEW.message);
    ELSIF NEW.phase IS DISTINCT FROM OLD.phase THEN
        INSERT INTO events (kind, object, host_id, type, reason, message)
        VALUES ('workload', NEW.id::text, NEW.host_id,
                CASE WHEN NEW.phase = 'failed' THEN 'Warning' ELSE 'Normal' END,
                CASE WHEN NEW.phase = 'failed' AND NEW.reason IS NOT NULL THEN NEW.reason
                     ELSE CASE NEW.phase WHEN 'placed' THEN 'Scheduled' WHEN 'running' THEN 'Started'
                          WHEN 'succeeded' THEN 'Completed' WHEN 'failed' THEN 'Failed' WHEN 'deleted' THEN 'Deleted'
                          ELSE initcap(NEW.phase) END END,
                CASE WHEN NEW.phase = 'placed' THEN 'pod ' || pod || ' placed on host ' || host_name
                     WHEN NEW.phase = 'failed' AND NEW.message IS NOT NULL THEN 'pod ' || pod || ' failed: ' || NEW.message
                     ELSE 'pod ' || pod || ' is ' || NEW.phase || ' (was ' || OLD.phase || ')' END);
    ELSIF NEW.deletion_requested_at IS NOT NULL AND OLD.deletion_requested_at IS NULL THEN
        INSERT INTO events (kind, object, host_id, type, reason, message)
        VALUES ('workload', NEW.id::text, NEW.host_id, 'Normal', 'Killing',
                'pod ' || pod || ' is being deleted; host ' || coalesce(host_name, '(none)') || ' stops its containers');
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER workloads_events AFTER UPDATE OF phase, message, deletion_requested_at ON workloads
    FOR EACH ROW WHEN (OLD.phase IS DISTINCT FROM NEW.phase OR OLD.message IS DISTINCT FROM NEW.message
                       OR OLD.deletion_requested_at IS DISTINCT FROM NEW.deletion_requested_at)
    EXECUTE FUNCTION events_workload();
