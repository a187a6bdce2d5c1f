package gpufleet.control.auth;

/** What a bearer token may do. Each token has exactly one role. */
public enum Role {
    /** The provider's people and tools: the whole fleet. */
    OPERATOR("operator", "gfo_"),
    /** One tenant's agent: that tenant's offerings, node and workloads only. */
    TENANT("tenant", "gft_"),
    /** One host's agent: that host's heartbeat, inventory and workloads only. */
    HOST("host", "gfh_"),
    /** Lets a new host register, nothing else; it expires. */
    JOIN("join", "gfj_");

    private final String wire;
    private final String prefix;

    Role(String wire, String prefix) {
        this.wire = wire;
        this.prefix = prefix;
    }

    @com.fasterxml.jackson.annotation.JsonValue
    public String wire() {
        return wire;
    }

    /** Tokens start with a role prefix so a leaked one is easy to recognise (and to grep for). */
    public String prefix() {
        return prefix;
    }

    public static Role fromWire(String wire) {
        for (Role r : values()) {
            if (r.wire.equals(wire)) {
                return r;
            }
        }
        throw new IllegalArgumentException("unknown role " + wire);
    }
}
