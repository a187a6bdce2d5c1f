-- Secrets at rest. A workload's secret material (env values, file contents, registry
-- credentials) is stored sealed with the operator's key, which is not in the database; its
-- spec keeps the rest, with those fields emptied (control-api SpecSecrets).
ALTER TABLE workloads ADD COLUMN sealed_secrets bytea;

-- Rows written before this migration hold their secrets in clear in spec. The control-api
-- seals them (or, for ended workloads, empties them) at start and sets this; rows written
-- from now on are sealed when written, hence the default true for new rows only.
ALTER TABLE workloads ADD COLUMN secrets_sealed boolean NOT NULL DEFAULT false;
ALTER TABLE workloads ALTER COLUMN secrets_sealed SET DEFAULT true;
CREATE INDEX workloads_secrets_unsealed ON workloads (id) WHERE NOT secrets_sealed;

-- A workload that has ended (deleted, released by its host, its host lost) keeps nothing of
-- its secrets. A trigger, so that every path that ends one (user delete, host report, liveness,
-- drain, paths added later) erases them in the same statement.
CREATE FUNCTION workloads_erase_ended_secrets() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.sealed_secrets := NULL;
    RETURN NEW;
END
$$;

CREATE TRIGGER workloads_erase_ended_secrets
    BEFORE INSERT OR UPDATE ON workloads
    FOR EACH ROW
    WHEN (NEW.deleted_at IS NOT NULL AND NEW.sealed_secrets IS NOT NULL)
    EXECUTE FUNCTION workloads_erase_ended_secrets();
