-- Events are kept for a week (the telemetry sampler prunes them). A BRIN index on the time they
-- were written costs next to nothing on insert (rows arrive in time order) and lets the prune
-- find the old ones without reading the whole table.
CREATE INDEX events_at ON events USING brin (at);
