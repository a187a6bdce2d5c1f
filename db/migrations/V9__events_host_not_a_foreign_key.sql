-- An event's host_id must not be a foreign key: inserting a row that references a host takes a
-- KEY SHARE lock on the host's row until commit, and placement locks candidate hosts FOR UPDATE
-- SKIP LOCKED, so a host whose workload status or GPU health was just recorded would be skipped
-- by placement (and a placement holding the host would make the recording wait). History only
-- names the host; it never needs the row to stay.
ALTER TABLE events DROP CONSTRAINT events_host_id_fkey;
