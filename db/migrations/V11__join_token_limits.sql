-- Join tokens become narrow: how many registrations each allows (uses, counted in used by the
-- registering transaction itself, so two racing registrations cannot both spend the last use),
-- the host names it may register (host_names; NULL: any name), and for a token an operator's
-- re-key issued, the one host whose name it may take over while that host is live
-- (rekey_host_id). Other roles carry none of these.
ALTER TABLE tokens
    ADD COLUMN uses          int,
    ADD COLUMN used          int NOT NULL DEFAULT 0,
    ADD COLUMN host_names    text[],
    ADD COLUMN rekey_host_id uuid REFERENCES hosts (id) ON DELETE CASCADE;

-- Join tokens issued before this had no limit: each keeps one registration, no more.
UPDATE tokens SET uses = 1 WHERE role = 'join';

ALTER TABLE tokens
    ADD CONSTRAINT tokens_join_uses CHECK ((role = 'join') = (uses IS NOT NULL)),
    ADD CONSTRAINT tokens_uses_bounded CHECK (uses BETWEEN 1 AND 1000 AND used BETWEEN 0 AND uses),
    ADD CONSTRAINT tokens_join_scope CHECK (role = 'join' OR (host_names IS NULL AND rekey_host_id IS NULL));
