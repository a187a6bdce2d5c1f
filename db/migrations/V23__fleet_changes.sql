-- The fleet's change cursor. Each host and GPU row carries the id of the transaction that last
-- changed what operators see of it (liveness, cordon; a GPU's state, model and telemetry), set by
-- triggers, so no writer has to remember it. A reader takes the oldest transaction still running
-- when it reads (pg_snapshot_xmin) as its cursor: every change by an older transaction is already
-- visible to it, so the next read asks for rows changed by this transaction or a newer one, and a
-- change committed late is never skipped (at worst a row is sent twice). Writes that operators do
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
    WHEN ((OLD.idx, OLD.model, OLD.memory_bytes, OLD.healthy, OLD.health_reason, OLD.allocated, OLD.present,
           OLD.utilization_gpu, OLD.memory_used_bytes, OLD.temperature_c, OLD.power_mw)
          IS DISTINCT FROM (NEW.idx, NEW.model, NEW.memory_bytes, NEW.healthy, NEW.health_reason, NEW.allocated,
           NEW.present, NEW.utilization_gpu, NEW.memory_used_bytes, NEW.temperature_c, NEW.power_mw))
    EXECUTE FUNCTION fleet_changed();
