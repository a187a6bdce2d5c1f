-- The fleet's change cursor. Each host and GPU row carries the id of the transaction that last
-- changed its state as the fleet board shows it (liveness, cordon; a GPU's health, allocation,
-- presence, model), set by triggers, so no writer has to remember it. Telemetry is not state: a
-- host reports it every 30 s, which at 50,000 hosts would put 1,700 hosts into every second's
-- changes; it is read per host (the host page), and a report that changes nothing else leaves
-- the column and its index alone (so the update can stay HOT).
-- A reader takes the oldest transaction still running when it reads (pg_snapshot_xmin) as its
-- cursor: every change by an older transaction is already visible to it, so the next read asks for
-- rows changed by this transaction or a newer one, and a change committed late is never skipped
-- (at worst a row is sent twice). Writes that operators do
-- not see (desired_version, stream addresses, heartbeats in their own table) leave the cursor alone.
ALTER TABLE hosts ADD COLUMN changed_xid xid8;
ALTER TABLE gpus ADD COLUMN changed_xid xid8;
CREATE INDEX hosts_changed ON hosts (changed_xid);
CREATE INDEX gpus_changed ON gpus (changed_xid);

CREATE FUNCTION fleet_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.changed_xid := pg_current_xact_id();
    RETURN NEW;
END $$;

CREATE TRIGGER hosts_change_added BEFORE INSERT ON hosts FOR EACH ROW EXECUTE FUNCTION fleet_changed();
CREATE TRIGGER hosts_change BEFORE UPDATE OF name, liveness, cordoned ON hosts FOR EACH ROW
    WHEN ((OLD.name, OLD.liveness, OLD.cordoned) IS DISTINCT FROM (NEW.name, NEW.liveness, NEW.cordoned))
    EXECUTE FUNCTION fleet_changed();
CREATE TRIGGER gpus_change_added BEFORE INSERT ON gpus FOR EACH ROW EXECUTE FUNCTION fleet_changed();
CREATE TRIGGER gpus_change BEFORE UPDATE ON gpus FOR EACH ROW
    WHEN ((OLD.idx, OLD.model, OLD.healthy, OLD.health_reason, OLD.allocated, OLD.present)
          IS DISTINCT FROM (NEW.idx, NEW.model, NEW.healthy, NEW.health_reason, NEW.allocated, NEW.present))
    EXECUTE FUNCTION fleet_changed();
