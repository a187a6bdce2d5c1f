package gpufleet.host.runtime;

import java.time.Instant;
import java.util.Map;

/**
 * A container as the engine reports it. {@code state}: created, running, restarting, paused,
 * exited or dead. {@code error} is the engine's message when it could not start the container.
 * {@code addresses}: network name → the container's IP address on it (empty while it is not running).
 */
public record Observed(String id, String name, Map<String, String> labels, String state, Integer exitCode,
                       Instant startedAt, Instant finishedAt, String image, String error, String oomKilled,
                       Map<String, String> addresses) {
    public Observed {
        addresses = addresses == null ? Map.of() : Map.copyOf(addresses);
    }

    public String label(String key) {
        return labels.get(key);
    }
}
