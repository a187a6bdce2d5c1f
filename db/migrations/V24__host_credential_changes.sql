-- Every control-api replica keeps the live host credentials in memory (HostCredentials), so that a
-- heartbeat proves who it is without a database read. This trigger tells every replica, through
-- LISTEN gpufleet_tokens, which host credential was issued, revoked, changed or deleted; the
-- replica re-reads that row. The payload is the token's id, never its hash.
CREATE FUNCTION notify_host_credential() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        IF OLD.role = 'host' THEN
            PERFORM pg_notify('gpufleet_tokens', OLD.id::text);
        END IF;
    ELSIF NEW.role = 'host' THEN
        PERFORM pg_notify('gpufleet_tokens', NEW.id::text);
    END IF;
    RETURN NULL;
END $$;

CREATE TRIGGER host_credential_changed
    AFTER INSERT OR UPDATE OR DELETE ON tokens
    FOR EACH ROW
    EXECUTE FUNCTION notify_host_credential();
