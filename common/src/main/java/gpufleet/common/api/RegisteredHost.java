package gpufleet.common.api;

import java.util.UUID;

/** The answer to a registration: the host's id and its own credential (shown only here). */
public record RegisteredHost(UUID hostId, String name, String token) {}
