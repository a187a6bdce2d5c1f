-- Streams over TLS with single-use tickets. stream_cert is the host's stream server certificate
-- (base64 DER), pinned on the first report after registration or a re-key; the control-api
-- trusts exactly it. stream_key is now stored sealed with the operator's sealing key, so the
-- plain keys stored so far are dropped with their addresses: each host-agent reports a TLS
-- endpoint again when it starts (an agent without TLS cannot be reached for streams anyway).
ALTER TABLE hosts ADD COLUMN stream_cert text;
UPDATE hosts SET stream_url = NULL, stream_key = NULL;
