-- A host is no longer believed about everything it reports.
--
-- Approved inventory: the rows of gpus are the GPUs the fleet places onto, each with the model it
-- was approved as. The first report that lists GPUs approves them; after that, a reported GPU the
-- host was not approved for (a new UUID, or a known UUID under another model) waits here, never in
-- gpus, until an operator approves the host (POST /v1/hosts/{host}/approve). report is the GPU as
-- the host last described it, written into gpus on approval.
CREATE TABLE held_gpus (
    host_id  uuid NOT NULL REFERENCES hosts (id) ON DELETE CASCADE,
    uuid     text NOT NULL,
    model    text NOT NULL,
    -- 'added': a UUID not approved on this host; 'model': an approved UUID reported as another model.
    change   text NOT NULL CHECK (change IN ('added', 'model')),
    report   jsonb NOT NULL,
    held_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (host_id, uuid)
);

-- Registered address: the one IP address a host's published ports and stream server may use. Set
-- at registration (the join token's bound address, else the address the request came from) and
-- changed only by an operator. Canonical text of an IP literal (no brackets, no zone).
ALTER TABLE hosts ADD COLUMN address text;

-- A join token issued for one host may name the address that host registers with.
ALTER TABLE tokens ADD COLUMN host_address text;
ALTER TABLE tokens ADD CONSTRAINT tokens_join_address CHECK (host_address IS NULL OR role = 'join');
