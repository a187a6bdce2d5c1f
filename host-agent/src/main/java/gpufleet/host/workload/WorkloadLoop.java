package gpufleet.host.workload;

import gpufleet.common.http.JsonClient;
import gpufleet.common.api.HostCondition;
import gpufleet.common.api.HostDesired;
import gpufleet.common.api.HostWorkload;
import gpufleet.common.api.RegisteredHost;
import gpufleet.common.api.WorkloadStatusReport;
import gpufleet.host.agent.Backoff;
import gpufleet.host.agent.ControlApiClient;
import gpufleet.host.runtime.DiskLimits;
import gpufleet.host.runtime.RuntimeFailure;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Two loops: one long-polls the control-api for this host's desired workloads; the other
 * hands each workload of the latest answer to its own worker (on every change and every few
 * seconds, to see containers that ended; see {@link Reconciler}), and each worker reports its
 * workload's status when it changes. Pod ports that routes need are published on the host's
 * publish address (see {@link PortRelay}) until closed.
 */
public final class WorkloadLoop implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(WorkloadLoop.class);

    /** Blocks until the host has a credential; null when the agent is stopping. */
    @FunctionalInterface
    public interface HostSupplier {
        RegisteredHost get() throws InterruptedException;
    }

    private final ControlApiClient api;
    private final HostSupplier host;
    private final Reconciler reconciler;
    private final Probes probes;
    private final PortRelay relay;
    private final TenantNetworks networks;
    private final Duration resync;
    private final Semaphore wake = new Semaphore(0);
    private final Map<UUID, Object> reported = new ConcurrentHashMap<>();
    /** Status generations start at the clock so they keep growing across agent restarts. */
    private final AtomicLong generation = new AtomicLong(System.currentTimeMillis());
    private final AtomicLong passes = new AtomicLong();
    private final Duration cutoffAfter;
    private final java.util.function.Supplier<Duration> sinceContact;
    private volatile HostDesired desired;
    /** The fence's stop gives {@link Reconciler#ORPHAN_GRACE_SECONDS}; what runs past it (and a margin) is killed. */
    static final Duration FENCE_KILL_AFTER = Duration.ofSeconds(Reconciler.ORPHAN_GRACE_SECONDS + 2);
    private boolean cutOff;
    /** When this host was cut off (System.nanoTime), for the fence's kill once its grace has passed. */
    private long cutOffSince;

    /** {@code containers}: this host's containers, the only ones the loop ever touches. */
    public WorkloadLoop(ControlApiClient api, HostSupplier host, HostContainers containers, Path stateDir, String gpuRuntime,
                        String pauseImage, long pidsLimit, Duration restartBackoff, Duration resync, Duration cutoffAfter,
                        java.util.function.Supplier<Duration> sinceContact, java.net.InetAddress publishAddress,
                        gpufleet.host.net.PodFirewall firewall, DiskLimits disk) {
        this.api = api;
        this.cutoffAfter = cutoffAfter;
        this.sinceContact = sinceContact;
        this.host = host;
        this.resync = resync;
        this.relay = new PortRelay(publishAddress);
        this.networks = new TenantNetworks(containers.runtime());
        // Every status reported passes through the probes, which know each container's readiness and Events.
        this.probes = new Probes(containers.runtime(), this::desiredWorkload, wake::release);
        PodRunner.Progress report = (id, o) -> report(id, probes.annotate(id, o));
        PodRunner pods = new PodRunner(containers, new PodFiles(stateDir), new RestartBackoff(restartBackoff), gpuRuntime,
                pauseImage, pidsLimit, report, relay, firewall, networks, disk, probes::startupPassed);
        StorageWatch storage = new StorageWatch(containers, disk, this::evict, stateDir);
        ActiveDeadline deadline = new ActiveDeadline(this::end, Clock.systemUTC());
        this.reconciler = new Reconciler(containers, pods, relay, networks, report, PodCheck.all(storage, probes, deadline));
    }

    /** Whether every tenant has one pod network on this host (a host condition). */
    public HostCondition networkCondition() {
        return networks.condition();
    }

    /**
     * How many reconcile passes have run to the end against a desired list, every workload's
     * worker included: one more means the containers were compared with what the control-api
     * wants at least once since. A pod's long stop holds the count back until it ends; the
     * other pods' work goes on meanwhile.
     */
    public long passes() {
        return passes.get();
    }

    /** A workload of the latest desired list; null when this host is not to run it. */
    private HostWorkload desiredWorkload(UUID id) {
        HostDesired d = desired;
        return d == null ? null : d.workloads().stream().filter(w -> w.id().equals(id)).findFirst().orElse(null);
    }

    /** Who holds a GPU: the tenant, the pod's namespace and name, and the container it is pinned to. */
    public record GpuHolder(String tenant, String namespace, String pod, String container) {}

    /** The holder of each GPU pinned by the latest desired list, by GPU UUID (empty before the first poll). */
    public Map<String, GpuHolder> gpuHolders() {
        HostDesired d = desired;
        if (d == null) {
            return Map.of();
        }
        Map<String, GpuHolder> out = new HashMap<>();
        for (HostWorkload w : d.workloads()) {
            w.gpus().forEach((container, uuids) -> uuids.forEach(uuid ->
                    out.put(uuid, new GpuHolder(w.tenant(), w.namespace(), w.name(), container))));
        }
        return out;
    }

    /** The UUIDs of the GPUs a workload on this host holds, as last desired (empty if unknown). */
    public List<String> gpusOf(String workload) {
        HostDesired d = desired;
        if (d == null) {
            return List.of();
        }
        return d.workloads().stream().filter(w -> w.id().toString().equals(workload))
                .flatMap(w -> w.gpus().values().stream().flatMap(List::stream)).distinct().toList();
    }

    public void pollLoop(java.util.function.BooleanSupplier running) {
        Backoff backoff = new Backoff(Duration.ofSeconds(1), Duration.ofSeconds(30));
        Long version = null;
        while (running.getAsBoolean()) {
            try {
                RegisteredHost h = host.get();
                if (h == null) {
                    return;
                }
                HostDesired d = api.desired(h, version, version == null ? 0 : 30);
                if (version == null || d.version() != version) {
                    desired = d;
                    wake.release();
                }
                version = d.version();
                backoff.reset();
            } catch (IOException | JsonClient.Refused e) {
                sleep(backoff.next());
            } catch (InterruptedException e) {
                return;
            }
        }
    }

    public void reconcileLoop(java.util.function.BooleanSupplier running) {
        while (running.getAsBoolean()) {
            try {
                if (wake.tryAcquire(resync.toMillis(), TimeUnit.MILLISECONDS)) {
                    wake.drainPermits();
                }
            } catch (InterruptedException e) {
                return;
            }
            HostDesired d = desired;
            if (d == null) {
                continue; // Nothing is removed before the control-api has said what this host should run.
            }
            try {
                if (sinceContact.get().compareTo(cutoffAfter) > 0) {
                    // Cut off: the control-api may declare this host lost and free its GPUs for other
                    // workloads, so stop ours first: two copies must never hold the same GPUs.
                    if (!cutOff) {
                        log.warn("no contact with the control-api for {}s: stopping every workload on this host",
                                sinceContact.get().toSeconds());
                        cutOff = true;
                        cutOffSince = System.nanoTime();
                    }
                    // Version -1: cut off (not a list from the control-api).
                    HostDesired none = new HostDesired(-1, List.of());
                    reconciler.dispatch(none).thenRun(passes::incrementAndGet);
                    if (System.nanoTime() - cutOffSince > FENCE_KILL_AFTER.toNanos()) {
                        // A pod already in a long graceful stop holds its worker, so the stop above waits
                        // behind it: kill what still runs from here, whatever the workers are doing.
                        int killed = reconciler.killRunning();
                        if (killed > 0) {
                            log.warn("cut off: killed {} container(s) still running after the fence's grace", killed);
                        }
                    }
                    continue;
                }
                if (cutOff) {
                    log.info("control-api reachable again: resuming workloads");
                    cutOff = false;
                }
                reconciler.dispatch(d).thenRun(passes::incrementAndGet);
            } catch (RuntimeFailure e) {
                log.warn("cannot reconcile workloads: {}", e.getMessage());
            } catch (RuntimeException e) {
                log.error("reconcile failed", e);
            }
        }
    }

    /** Called by the workload's own worker, so never twice at once for one workload. */
    /** Tells the control-api that a pod is evicted; false when it could not be told (the pod runs on until it can). */
    private boolean evict(UUID workload, String message) throws InterruptedException {
        return end(workload, "Evicted", message);
    }

    /** Tells the control-api that a pod ended for {@code reason} (Evicted, DeadlineExceeded); false when it could not be told. */
    private boolean end(UUID workload, String reason, String message) throws InterruptedException {
        try {
            RegisteredHost h = host.get();
            if (h == null) {
                return false;
            }
            api.end(h, workload, reason, message);
            return true;
        } catch (IOException | JsonClient.Refused e) {
            log.warn("end of workload {} ({}) not recorded yet: {}", workload, reason, JsonClient.reason(e));
            return false;
        }
    }

    private void report(UUID workload, PodRunner.Outcome o) {
        if (o == null) {
            return;
        }
        // A new port mapping (an agent restart, a port published later) is news even when the containers are not.
        Object key = o.gone() ? "gone" : List.of(o.statuses(), o.ports(), o.initStatuses());
        if (key.equals(reported.get(workload))) {
            return;
        }
        try {
            RegisteredHost h = host.get();
            if (h == null) {
                return;
            }
            api.workloadStatus(h, workload, new WorkloadStatusReport(generation.incrementAndGet(), o.statuses(), o.gone(), o.ports(),
                    o.initStatuses()));
            reported.put(workload, key);
            if (o.gone()) {
                reported.remove(workload);
            }
        } catch (IOException | JsonClient.Refused e) {
            log.debug("status of workload {} not reported yet: {}", workload, JsonClient.reason(e));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** Stops publishing ports; call after both loops have ended. */
    @Override
    public void close() {
        reconciler.close();
        probes.close();
        relay.close();
    }

    private static void sleep(Duration d) {
        try {
            Thread.sleep(d.toMillis());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
