package gpufleet.host.images;

import com.fasterxml.jackson.core.type.TypeReference;
import gpufleet.common.Json;
import gpufleet.host.images.ImageStore.Image;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Instant;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * When each image was first seen on this host and last used by a container, kept in a file in
 * the agent's state directory so that a restarted agent keeps the order: the kubelet keeps these
 * in memory only, so after its restart every image counts as just seen (kept for the minimum age)
 * and as never used. An image the file does not know is first seen when the agent sees it.
 */
public final class ImageRecords {
    private static final Logger log = LoggerFactory.getLogger(ImageRecords.class);
    private static final TypeReference<Map<String, Seen>> TYPE = new TypeReference<>() {};

    public record Seen(Instant firstSeen, Instant lastUsed) {}

    private final Path file;
    private final Map<String, Seen> seen = new ConcurrentHashMap<>();

    public ImageRecords(Path file) {
        this.file = file;
        if (Files.exists(file)) {
            try {
                seen.putAll(Json.mapper().readValue(file.toFile(), TYPE));
            } catch (IOException e) {
                log.warn("cannot read {} ({}): every image counts as first seen now", file, e.getMessage());
            }
        }
    }

    /** Notes the images present (new ones first seen now) and those containers use (used now); forgets the gone. */
    void observe(List<Image> images, Set<String> inUse, Instant now) {
        Map<String, Seen> next = new HashMap<>();
        for (Image i : images) {
            Seen s = seen.getOrDefault(i.id(), new Seen(now, now));
            next.put(i.id(), inUse.contains(i.id()) ? new Seen(s.firstSeen(), now) : s);
        }
        seen.keySet().retainAll(next.keySet());
        seen.putAll(next);
    }

    Seen get(String imageId) {
        return seen.get(imageId);
    }

    Map<String, Seen> all() {
        return Map.copyOf(seen);
    }

    void forget(String imageId) {
        seen.remove(imageId);
    }

    /** Writes the records out whole (a temporary file moved into place), so a crash leaves the old or the new. */
    void save() throws IOException {
        Files.createDirectories(file.getParent());
        Path tmp = file.resolveSibling(file.getFileName() + ".tmp");
        Json.mapper().writeValue(tmp.toFile(), new HashMap<>(seen));
        Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
    }
}
