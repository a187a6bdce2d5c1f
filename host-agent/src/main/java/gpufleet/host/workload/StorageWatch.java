package gpufleet.host.workload;

import gpufleet.common.Quantity;
import gpufleet.common.api.HostDesired;
import gpufleet.common.api.HostWorkload;
import gpufleet.common.api.WorkloadSpec;
import gpufleet.host.runtime.DiskUsage;
import gpufleet.host.runtime.Observed;
import gpufleet.host.runtime.RuntimeFailure;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Bounds what a pod writes to the host's disk, as the kubelet's eviction manager does for
 * ephemeral storage: Docker cannot cap a writable layer on overlay2 over ext4, so the agent
 * measures each pod's layers every few seconds and evicts a pod past its limit. A container past
 * its own {@code ephemeral-storage} limit, or a pod past the sum of its containers' limits, is
 * evicted with the kubelet's words; a pod with no limit of its own is held to the host's per-pod
 * bound, which also caps any limit a spec asks for. Logs are bounded apart from this, by Docker's
 * rotation. Evicting: the control-api is told first (the pod fails with reason Evicted and its
 * workload is deleted, which removes the containers and frees the disk and the GPUs), then the
 * containers are killed at once, with no grace period, as the kubelet does for this signal.
 */
public final class StorageWatch {
    private static final Logger log = LoggerFactory.getLogger(StorageWatch.class);

    /** Tells the control-api that a workload is evicted; false when it could not be told (try again next pass). */
    @FunctionalInterface
    public interface Evictor {
        boolean evict(UUID workload, String message) throws InterruptedException;
    }

    /** One pod found past its limit, and what the tenant reads. */
    public record Eviction(UUID workload, String message) {}

    private final HostContainers containers;
    private final DiskUsage disk;
    private final long hostBound;
    private final Evictor evictor;

    /** {@code hostBound}: the most one pod may write on this host, in bytes. */
    public StorageWatch(HostContainers containers, DiskUsage disk, long hostBound, Evictor evictor) {
        this.containers = containers;
        this.disk = disk;
        this.hostBound = hostBound;
        this.evictor = evictor;
    }

    /** One pass over the pods the host runs; returns those evicted in it. */
    public List<Eviction> check(HostDesired desired) throws InterruptedException {
        List<Eviction> evicted = new ArrayList<>();
        for (HostWorkload w : desired.workloads()) {
            if (w.stop()) {
                continue;
            }
            try {
                List<Observed> mine = containers.of(w.id().toString());
                String message = verdict(w.spec(), usage(mine));
                if (message != null && evictor.evict(w.id(), message)) {
                    log.warn("evicted workload {}: {}", w.id(), message);
                    kill(mine);
                    evicted.add(new Eviction(w.id(), message));
                }
            } catch (RuntimeFailure e) {
                log.warn("cannot measure the disk use of workload {}: {}", w.id(), e.getMessage());
            }
        }
        return evicted;
    }

    /** Bytes written per container name (the pod's sandbox and every attempt of a container included). */
    private Map<String, Long> usage(List<Observed> mine) throws RuntimeFailure {
        Map<String, Long> used = new HashMap<>();
        for (Observed o : mine) {
            String name = o.label(Labels.CONTAINER) == null ? Labels.PAUSE : o.label(Labels.CONTAINER);
            used.merge(name, disk.writableBytes(o.id()), Math::addExact);
        }
        return used;
    }

    /** Why the pod must go, in the kubelet's words; null while it is within its limits. */
    String verdict(WorkloadSpec spec, Map<String, Long> used) {
        long total = used.values().stream().mapToLong(Long::longValue).reduce(0, Math::addExact);
        long podLimit = 0;
        boolean everyContainerLimited = true;
        for (WorkloadSpec.Container c : spec.containers()) {
            Long limit = c.resources().ephemeralStorageBytes();
            if (limit == null) {
                everyContainerLimited = false;
                continue;
            }
            long mine = used.getOrDefault(c.name(), 0L);
            if (mine > limit) {
                return "Container " + c.name() + " exceeded its local ephemeral storage limit \""
                        + c.resources().ephemeralStorage() + "\".";
            }
            podLimit = Math.addExact(podLimit, limit);
        }
        if (everyContainerLimited && podLimit < hostBound && total > podLimit) {
            return "Pod ephemeral local storage usage exceeds the total limit of containers " + Quantity.memory(podLimit) + ".";
        }
        if (total > hostBound) {
            return "Pod ephemeral local storage usage exceeds this host's limit of " + Quantity.memory(hostBound) + " per pod.";
        }
        return null;
    }

    private void kill(List<Observed> mine) {
        for (Observed o : mine) {
            try {
                containers.runtime().stop(o.id(), 0);
            } catch (RuntimeFailure e) {
                log.warn("cannot stop container {} of an evicted pod: {}", o.id(), e.getMessage());
            }
        }
    }
}
