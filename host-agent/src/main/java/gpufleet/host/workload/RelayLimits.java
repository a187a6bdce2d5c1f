package gpufleet.host.workload;

import java.time.Duration;

/**
 * Bounds on the port relays of one host. Any pod on the host's network can dial a relay, and
 * every relayed connection holds two threads and two buffers: without bounds one pod could take
 * the agent's memory and threads, or one published port could take every slot. Relays carry the
 * tenants' own protocols (some have the server speak first), so there is no deadline for a first
 * byte; an idle time without a byte either way, and keep-alive probes for peers that are gone.
 *
 * @param connections relayed connections on the host at once, all listeners together
 * @param perListener relayed connections of one published port at once
 * @param perSource relayed connections from one source address at once (the edge is one address)
 * @param idle a connection that moves no byte either way for this long is closed
 * @param keepAliveIdle silence before keep-alive probes ask whether the peer is still there
 */
record RelayLimits(int connections, int perListener, int perSource, Duration idle, Duration keepAliveIdle) {
    static final RelayLimits DEFAULT = new RelayLimits(512, 128, 128, Duration.ofMinutes(10), Duration.ofSeconds(60));

    RelayLimits {
        if (connections < 1 || perListener < 1 || perSource < 1 || idle.toMillis() < 1 || keepAliveIdle.toSeconds() < 1) {
            throw new IllegalArgumentException("relay limits must be positive (keep-alive at least 1 s)");
        }
    }
}
