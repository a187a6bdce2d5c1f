package gpufleet.host.images;

import gpufleet.host.images.DiskUsage.Usage;
import gpufleet.host.images.ImageStore.Image;
import gpufleet.host.runtime.RuntimeFailure;
import java.io.IOException;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Image garbage collection on the host, after the kubelet's: multi-GB CUDA images pulled for
 * pods that have gone would otherwise fill the disk that Docker keeps images on. Each pass notes
 * which images containers use (every container, running or stopped, the agent's or anyone's:
 * those are never removed), then, when the disk is at or past the high threshold, removes the
 * other images least recently used first until it expects the disk below the low threshold.
 * An image seen for less than the minimum age is kept (it may be about to be used), and so are
 * the pinned ones (the pause image every pod's sandbox needs, which no registry may serve).
 */
public final class ImageGc {
    private static final Logger log = LoggerFactory.getLogger(ImageGc.class);

    /** What a pass did: the disk before, the images removed, and why it fell short (null: it did not). */
    public record Result(Usage before, List<Image> removed, long freedBytes, String failure) {}

    private final ImageStore store;
    private final DiskUsage disk;
    private final ImageGcPolicy policy;
    private final Set<String> pinned;
    private final ImageRecords records;
    private final Clock clock;

    /** {@code pinned}: image references (as pods name them) never removed. */
    public ImageGc(ImageStore store, DiskUsage disk, ImageGcPolicy policy, Set<String> pinned, ImageRecords records,
                   Clock clock) {
        this.store = store;
        this.disk = disk;
        this.policy = policy;
        this.pinned = Set.copyOf(pinned);
        this.records = records;
        this.clock = clock;
    }

    public Duration interval() {
        return policy.interval();
    }

    /** One pass; the engine's or the disk's failure is the caller's to report. */
    public Result collect() throws RuntimeFailure, IOException {
        Instant now = clock.instant();
        List<Image> images = store.images();
        Set<String> inUse = store.imagesInUse();
        records.observe(images, inUse, now);
        records.save();
        String root = store.imageRoot();
        Usage usage = disk.of(root);
        if (!policy.enabled() || usage.percent() < policy.highPercent()) {
            return new Result(usage, List.of(), 0, null);
        }
        long toFree = usage.capacityBytes() * (100 - policy.lowPercent()) / 100 - usage.availableBytes();
        List<Image> removed = new ArrayList<>();
        long freed = 0;
        for (Image image : candidates(images, inUse, now)) {
            if (freed >= toFree) {
                break;
            }
            try {
                store.remove(image);
                removed.add(image);
                freed += image.sizeBytes();
                records.forget(image.id());
            } catch (RuntimeFailure e) {
                // Used since the list was read, most likely: the engine refused, as it should.
                log.info("image garbage collection kept {}: {}", name(image), e.getMessage());
            }
        }
        if (!removed.isEmpty()) {
            records.save();
        }
        String failure = freed >= toFree ? null : "Failed to garbage collect required amount of images. Attempted to free "
                + toFree + " bytes, but only found " + freed + " bytes eligible to free.";
        report(root, usage, removed, freed, failure);
        return new Result(usage, removed, freed, failure);
    }

    /** The images that may go, least recently used first (the kubelet's order). */
    private List<Image> candidates(List<Image> images, Set<String> inUse, Instant now) {
        List<Image> out = new ArrayList<>();
        for (Image i : images) {
            ImageRecords.Seen seen = records.get(i.id());
            boolean young = seen == null || Duration.between(seen.firstSeen(), now).compareTo(policy.minimumAge()) < 0;
            if (!inUse.contains(i.id()) && !young && i.tags().stream().noneMatch(pinned::contains)) {
                out.add(i);
            }
        }
        Map<String, ImageRecords.Seen> all = records.all();
        out.sort(Comparator.comparing((Image i) -> all.get(i.id()).lastUsed()).thenComparing(i -> all.get(i.id()).firstSeen()));
        return out;
    }

    private void report(String root, Usage usage, List<Image> removed, long freed, String failure) {
        List<String> names = removed.stream().map(i -> name(i) + " (" + megabytes(i.sizeBytes()) + ")").toList();
        log.info("image garbage collection: the disk holding {} was {}% used (high threshold {}%, low {}%); removed {}: {}; freed {}",
                root, usage.percent(), policy.highPercent(), policy.lowPercent(), removed.size(),
                names.isEmpty() ? "none" : String.join(", ", names), megabytes(freed));
        if (failure != null) {
            log.warn("FreeDiskSpaceFailed: {} (the disk holding {} stays at or above {}%: images in use, pinned or younger"
                    + " than {} are kept)", failure, root, policy.lowPercent(), policy.minimumAge());
        }
    }

    private static String megabytes(long bytes) {
        return String.format("%.1f MB", bytes / 1e6);
    }

    private static String name(Image i) {
        String id = i.id().length() > 19 ? i.id().substring(0, 19) : i.id();
        return i.tags().isEmpty() ? id : String.join(",", i.tags()) + " " + id;
    }
}
