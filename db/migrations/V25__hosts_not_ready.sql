-- Each heartbeat batch asks which of its hosts were not ready, to mark them ready again. Nearly
-- every host is ready nearly always, so an index of the others alone answers that without
-- visiting the thousands of ready hosts a batch names.
CREATE INDEX hosts_not_ready ON hosts (id) WHERE liveness <> 'ready';
