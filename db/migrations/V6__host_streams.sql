-- Streams (kubectl logs, exec, attach, port-forward, stats): the control-api reaches a host-agent's
-- stream server at stream_url and signs a short-lived ticket per request with stream_key, a secret
-- the agent generated and reported over its authenticated inventory channel. Null until the agent
-- reports them (an agent without a stream server cannot be reached for streams).
ALTER TABLE hosts ADD COLUMN stream_url text, ADD COLUMN stream_key text;
