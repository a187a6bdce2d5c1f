package gpufleet.control.auth;

import java.util.UUID;

/** Who is calling: the token's id and role, and the tenant or host it is bound to. */
public record Principal(UUID tokenId, Role role, String tenant, UUID hostId) {}
