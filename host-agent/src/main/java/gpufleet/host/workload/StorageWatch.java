package gpufleet.host.workload;

import gpufleet.common.Quantity;
import gpufleet.common.api.HostWorkload;
import gpufleet.common.api.PodSettings;
import gpufleet.common.api.WorkloadSpec;
import gpufleet.host.runtime.ContainerRuntime;
import gpufleet.host.runtime.DiskLimits;
import gpufleet.host.runtime.Observed;
import gpufleet.host.runtime.RuntimeFailure;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Bounds what a pod writes to the host's disk, as the kubelet's eviction manager does for
 * ephemeral storage: Docker cannot cap a writable layer on overlay2 over ext4, so the agent
 * measures each pod's layers on the pod's own worker, once per check interval. A container past its
 * own {@code ephemeral-storage} limit, or a pod past the sum of its containers' limits, is evicted
 * with the kubelet's words; every pod is held to the host's per-pod bound, which no limit in a
 * spec can raise. A disk emptyDir's files count toward its pod's use, and one past its own
 * sizeLimit evicts the pod, as the kubelet does. Logs are bounded apart from this, by Docker's
 * rotation. Evicting: the control-api is told first (the pod fails with reason Evicted and its
 * workload is deleted, which removes the containers and frees the disk and the GPUs), then the
 * containers are killed at once, with no grace period, as the kubelet does for this signal.
 */
public final class StorageWatch implements PodCheck {
    private static final Logger log = LoggerFactory.getLogger(StorageWatch.class);

    /** Tells the control-api that a workload is evicted; false when it could not be told (try again next time). */
    @FunctionalInterface
    public interface Evictor {
        boolean evict(UUID workload, String message) throws InterruptedException;
    }

    private final ContainerRuntime runtime;
    private final DiskLimits limits;
    private final Evictor evictor;
    private final PodVolumes volumes;
    /** When each pod was last measured (System.nanoTime); measuring walks its layers, so not on every sync. */
    private final Map<UUID, Long> measured = new ConcurrentHashMap<>();

    /** {@code stateDir}: the agent's, where the pods' emptyDir directories are. */
    public StorageWatch(HostContainers containers, DiskLimits limits, Evictor evictor, Path stateDir) {
        this.runtime = containers.runtime();
        this.limits = limits;
        this.evictor = evictor;
        this.volumes = new PodVolumes(stateDir);
    }

    /** On the pod's worker, after each sync of a pod that should run: measured at most once per check interval. */
    @Override
    public void check(HostWorkload w, List<Observed> mine) {
        long now = System.nanoTime();
        Long last = measured.get(w.id());
        if (last != null && now - last < limits.checkInterval().toNanos()) {
            return;
        }
        measured.put(w.id(), now);
        // Pods gone from this host stop being remembered.
        measured.values().removeIf(at -> now - at > 10 * limits.checkInterval().toNanos());
        try {
            evictIfOver(w, mine);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** Measures the pod and evicts it when it is past a limit; the message it was evicted with, or null. */
    String evictIfOver(HostWorkload w, List<Observed> mine) throws InterruptedException {
        try {
            String message = verdict(w.spec(), usage(mine), volumes.diskBytes(w.id().toString()), w.podEphemeralStorageBytes());
            if (message != null && evictor.evict(w.id(), message)) {
                log.warn("evicted workload {}: {}", w.id(), message);
                kill(mine);
                return message;
            }
        } catch (RuntimeFailure e) {
            log.warn("cannot measure the disk use of workload {}: {}", w.id(), e.getMessage());
        }
        return null;
    }

    /** Bytes written per container name (the pod's sandbox and every attempt of a container included). */
    private Map<String, Long> usage(List<Observed> mine) throws RuntimeFailure {
        Map<String, Long> used = new HashMap<>();
        for (Observed o : mine) {
            String name = o.label(Labels.CONTAINER) == null ? Labels.PAUSE : o.label(Labels.CONTAINER);
            used.merge(name, runtime.writableBytes(o.id()), Math::addExact);
        }
        return used;
    }

    /**
     * Why the pod must go, in the kubelet's words; null while it is within its limits. {@code offering}:
     * the offering's bound on the pod (null for none), which, like the host's, no pod limit raises.
     * {@code emptyDirs}: bytes in each disk emptyDir, by volume name.
     */
    String verdict(WorkloadSpec spec, Map<String, Long> used, Map<String, Long> emptyDirs, Long offering) {
        long hostBound = offering == null ? limits.podBytes() : Math.min(offering, limits.podBytes());
        for (PodSettings.Volume v : spec.volumes()) {
            if (v.sizeLimitBytes() != null && emptyDirs.getOrDefault(v.name(), 0L) > v.sizeLimitBytes()) {
                return "Usage of EmptyDir volume \"" + v.name() + "\" exceeds the limit \"" + v.sizeLimit() + "\".";
            }
        }
        long total = used.values().stream().mapToLong(Long::longValue).reduce(0, Math::addExact);
        total = Math.addExact(total, emptyDirs.values().stream().mapToLong(Long::longValue).reduce(0, Math::addExact));
        long podLimit = 0;
        boolean everyContainerLimited = true;
        for (WorkloadSpec.Container c : spec.containers()) {
            Long limit = c.resources().ephemeralStorageBytes();
            if (limit == null) {
                everyContainerLimited = false;
                continue;
            }
            if (used.getOrDefault(c.name(), 0L) > limit) {
                return "Container " + c.name() + " exceeded its local ephemeral storage limit \""
                        + c.resources().ephemeralStorage() + "\".";
            }
            podLimit = Math.addExact(podLimit, limit);
        }
        if (everyContainerLimited && podLimit < hostBound && total > podLimit) {
            return "Pod ephemeral local storage usage exceeds the total limit of containers " + Quantity.memory(podLimit) + ".";
        }
        if (total > hostBound) {
            return "Pod ephemeral local storage usage exceeds the limit of " + Quantity.memory(hostBound) + " per pod"
                    + (offering != null && offering <= limits.podBytes() ? " of its RuntimeClass." : " on this host.");
        }
        return null;
    }

    private void kill(List<Observed> mine) {
        for (Observed o : mine) {
            try {
                runtime.stop(o.id(), 0);
            } catch (RuntimeFailure e) {
                log.warn("cannot stop container {} of an evicted pod: {}", o.id(), e.getMessage());
            }
        }
    }
}
