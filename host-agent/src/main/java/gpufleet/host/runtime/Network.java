package gpufleet.host.runtime;

import java.time.Instant;
import java.util.Map;

/**
 * A network as the engine reports it. Names are not unique in Docker (two creates that race
 * both succeed), so a network is only ever used by its {@code id}. {@code containers}: how many
 * containers are attached now.
 */
public record Network(String id, String name, Map<String, String> labels, Map<String, String> options, Instant created,
                      int containers) {
    public Network {
        labels = labels == null ? Map.of() : Map.copyOf(labels);
        options = options == null ? Map.of() : Map.copyOf(options);
    }
}
