package gpufleet.host.workload;

import gpufleet.common.api.HostWorkload;
import gpufleet.host.runtime.Observed;
import java.time.Clock;
import java.time.Instant;
import java.util.List;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A pod's activeDeadlineSeconds, as the kubelet's active deadline handler: counted from the pod's
 * start on this host (its sandbox's start; the kubelet counts from status.startTime, which it sets
 * then). Past it the control-api is told; the pod fails with reason DeadlineExceeded and its
 * workload is deleted, so the next pass stops every container under the pod's grace period and
 * the GPUs come free once they are gone.
 */
final class ActiveDeadline implements PodCheck {
    private static final Logger log = LoggerFactory.getLogger(ActiveDeadline.class);
    static final String REASON = "DeadlineExceeded";
    static final String MESSAGE = "Pod was active on the node longer than the specified deadline";

    /** Tells the control-api that a workload ended for {@code reason}; false when it could not be told (tried again next sync). */
    @FunctionalInterface
    interface Ender {
        boolean end(UUID workload, String reason, String message) throws InterruptedException;
    }

    private final Ender ender;
    private final Clock clock;
    /** Workloads the control-api was told about: not told again while their deletion reaches this host. */
    private final Set<UUID> told = ConcurrentHashMap.newKeySet();

    ActiveDeadline(Ender ender, Clock clock) {
        this.ender = ender;
        this.clock = clock;
    }

    @Override
    public void check(HostWorkload w, List<Observed> mine) {
        Long deadline = w.spec().activeDeadlineSeconds();
        Instant since = mine.stream().filter(o -> Labels.PAUSE.equals(o.label(Labels.CONTAINER)) && o.startedAt() != null)
                .map(Observed::startedAt).min(Instant::compareTo).orElse(null);
        if (deadline == null || since == null || !clock.instant().isAfter(since.plusSeconds(deadline)) || told.contains(w.id())) {
            return;
        }
        try {
            if (ender.end(w.id(), REASON, MESSAGE)) {
                told.add(w.id());
                log.info("workload {} passed its activeDeadlineSeconds ({}s): ended", w.id(), deadline);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
